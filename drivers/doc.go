// Package drivers is the contract between Ward and the network operating
// systems it configures. This file holds the registry; each network OS gets
// its own package that registers itself with func Register(r *Registry), and
// cmd/ward lists them all in one explicit place (no init side effects).
package drivers
