// Package web is Ward's compliance UI: server-rendered html/template pages
// under /ui, with embedded assets, a strict Content-Security-Policy and no
// JavaScript, so every page reads with scripts off, prints, and has a
// stable URL a reviewer can cite.
//
// Start with New (web.go), which builds the handler ward serve mounts at
// /ui. session.go signs people in with an API token (a cookie naming a
// hashed session in the store) and guards every form with a CSRF token
// bound to the session; pages.go builds each page's view-model struct
// from the core's own queries (the policy in force, the engine's
// evaluation, the store, the quarantine manager) and renders it with the
// templates in templates/. Handlers hold no SQL and no Rego.
package web
