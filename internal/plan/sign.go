package plan

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/wardnet/ward/internal/credentials"
)

// SigningKeyName is the file in Ward's credential store (WARD_CREDENTIALS_DIR,
// default /etc/ward/credentials) whose 32 random bytes seed the Ed25519 key
// that signs plans. It is created on first use.
const SigningKeyName = credentials.PlanSigningKey

// SignedFormat is the version of the signed-plan envelope.
const SignedFormat = "1"

// signContext is prefixed to the signed bytes, so that a signature over a
// plan can never be taken for a signature over anything else Ward signs.
const signContext = "ward signed plan v1\n"

// Signed is a plan as saved (ward plan -out) and stored (the API's plans):
// the plan's JSON and an Ed25519 signature over its compact form. The
// signature covers every byte of the plan, so a changed config text, a
// flipped blocked flag or a renamed driver no longer verifies.
type Signed struct {
	Format    string          `json:"ward_signed_plan"`
	KeyID     string          `json:"key_id"`
	Signature string          `json:"signature"`
	Plan      json.RawMessage `json:"plan"`
}

// Signer signs plans and verifies signatures with one key.
type Signer struct {
	key ed25519.PrivateKey
	id  string
}

// NewSigner returns a signer for the Ed25519 key seeded by seed (32 bytes).
func NewSigner(seed []byte) (*Signer, error) {
	if len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("a plan-signing key is %d bytes, not %d", ed25519.SeedSize, len(seed))
	}
	key := ed25519.NewKeyFromSeed(seed)
	sum := sha256.Sum256(key.Public().(ed25519.PublicKey))
	return &Signer{key: key, id: "ed25519:" + hex.EncodeToString(sum[:8])}, nil
}

// LoadSigner returns the signer whose key is SigningKeyName in src,
// creating the key on first use. Two processes creating it at once agree
// on one key (credentials.Source.LoadOrCreateKey).
func LoadSigner(src credentials.Source) (*Signer, error) {
	seed, _, err := src.LoadOrCreateKey(SigningKeyName)
	if err != nil {
		return nil, fmt.Errorf("plan-signing key: %w", err)
	}
	return NewSigner(seed)
}

// KeyID names the key: "ed25519:" and the first 8 bytes of the SHA-256 of
// its public key, in hex.
func (s *Signer) KeyID() string { return s.id }

// Sign returns p as a signed envelope, indented JSON ending in a newline.
func (s *Signer) Sign(p *Plan) ([]byte, error) {
	body, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("encoding the plan: %w", err)
	}
	sig := ed25519.Sign(s.key, signedBytes(body))
	env := Signed{Format: SignedFormat, KeyID: s.id, Signature: base64.StdEncoding.EncodeToString(sig), Plan: body}
	out, err := json.MarshalIndent(env, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding the signed plan: %w", err)
	}
	return append(out, '\n'), nil
}

// SignatureError says why a plan's signature was refused.
type SignatureError struct{ Reason string }

func (e *SignatureError) Error() string {
	return "the plan's signature is not valid: " + e.Reason + "; make a new plan with ward plan -out (or POST /api/v1/plans) and review it"
}

// Open verifies a signed plan made by Sign and returns the plan. An
// unsigned plan, a signature by another key and any change to the plan's
// bytes are refused with a *SignatureError.
func (s *Signer) Open(b []byte) (*Plan, error) {
	var env Signed
	if err := json.Unmarshal(b, &env); err != nil {
		return nil, &SignatureError{fmt.Sprintf("it is not a signed plan (%v)", err)}
	}
	switch {
	case env.Format == "" && env.Signature == "" && len(env.Plan) == 0:
		return nil, &SignatureError{"it is unsigned (a plan from before signing, or written by hand)"}
	case env.Format != SignedFormat:
		return nil, &SignatureError{fmt.Sprintf("signed-plan format %q; this Ward reads %q", env.Format, SignedFormat)}
	case env.Signature == "":
		return nil, &SignatureError{"it has no signature"}
	case env.KeyID != s.id:
		return nil, &SignatureError{fmt.Sprintf("it was signed with key %q, and this Ward's key is %q (another installation, or a replaced %s)", env.KeyID, s.id, SigningKeyName)}
	}
	sig, err := base64.StdEncoding.DecodeString(env.Signature)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return nil, &SignatureError{"the signature is not an Ed25519 signature in base64"}
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, env.Plan); err != nil {
		return nil, &SignatureError{fmt.Sprintf("the plan is not JSON (%v)", err)}
	}
	if !ed25519.Verify(s.key.Public().(ed25519.PublicKey), signedBytes(compact.Bytes()), sig) {
		return nil, &SignatureError{"the plan was changed after it was signed"}
	}
	var p Plan
	if err := json.Unmarshal(compact.Bytes(), &p); err != nil {
		return nil, &SignatureError{fmt.Sprintf("the signed content is not a plan (%v)", err)}
	}
	if p.FormatVersion != FormatVersion {
		return nil, &SignatureError{fmt.Sprintf("plan format %q; this Ward reads %q", p.FormatVersion, FormatVersion)}
	}
	return &p, nil
}

// DecodeUnverified reads a plan, signed or not, WITHOUT checking its
// signature: for showing a stored plan, never for applying one.
func DecodeUnverified(b []byte) (*Plan, error) {
	var env Signed
	if err := json.Unmarshal(b, &env); err == nil && len(env.Plan) > 0 {
		b = env.Plan
	}
	var p Plan
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("not a plan: %w", err)
	}
	return &p, nil
}

// IsSignatureError reports whether err is a refused signature.
func IsSignatureError(err error) bool {
	var se *SignatureError
	return errors.As(err, &se)
}

// signedBytes is what the signature covers: the context and the plan's
// compact JSON. json.Marshal's output is already compact, and Compact only
// drops insignificant white space, so indenting the file for people to
// read does not change it.
func signedBytes(compactPlan []byte) []byte {
	return append([]byte(signContext), compactPlan...)
}
