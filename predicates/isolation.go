package predicates

import (
	"encoding/json"
	"fmt"
)

// ByproductIsolation is the link byproducts key of the network isolation
// record (an Isolation object); the training provenance carries the same
// object as the annotations of its runDetails.byproducts entry
// ProvenanceByproductIsolation.
const ByproductIsolation = "mlattest.dev/isolation"

// MaxIsolationConnections caps the connection entries of an Isolation
// record (each of Connections and Refused); further distinct endpoints are
// only counted (ConnectionsOmitted, RefusedOmitted).
const MaxIsolationConnections = 256

// Isolation is the network policy a step ran under and what happened under
// it. CEL expressions of a layout read it as
// predicate.byproducts["mlattest.dev/isolation"] (link) or the annotations of
// the provenance's "mlattest.dev/isolation" byproduct.
type Isolation struct {
	// Network is "none" (no network) or "allow" (only Allow reachable);
	// mlattest attest records whatever its caller asserts.
	Network string `json:"network"`
	// Enforced says mlattest itself ran the command under the policy; false
	// when the policy was only asserted (a step recorded by mlattest attest).
	Enforced bool `json:"enforced"`
	// Mechanism says how: "userns+netns" (a network namespace inside a user
	// namespace) or "netns" (a network namespace, as root). Empty when not
	// enforced.
	Mechanism string `json:"mechanism,omitempty"`
	// Allow lists the reachable TCP endpoints (ADDR:PORT) under "allow".
	Allow []string `json:"allow,omitempty"`
	// Connections are the connections forwarded to allowed endpoints.
	Connections []Connection `json:"connections,omitempty"`
	// Refused are the connection attempts refused: TCP connections reset
	// and UDP datagrams (DNS queries among them) answered "unreachable".
	Refused            []Connection `json:"refused,omitempty"`
	ConnectionsOmitted int          `json:"connectionsOmitted,omitempty"`
	RefusedOmitted     int          `json:"refusedOmitted,omitempty"`
}

// Connection counts attempts of one protocol to one endpoint.
type Connection struct {
	Proto string `json:"proto"` // "tcp" or "udp"
	To    string `json:"to"`    // ADDR:PORT ([ADDR]:PORT for IPv6)
	Count int    `json:"count"`
	// Failed counts forwarded connections whose dial of the real endpoint
	// failed (Connections only).
	Failed int `json:"failed,omitempty"`
}

// asMap renders the record as the generic JSON object structpb takes.
func (iso *Isolation) asMap() (map[string]any, error) {
	b, err := json.Marshal(iso)
	if err != nil {
		return nil, fmt.Errorf("isolation: %w", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("isolation: %w", err)
	}
	return m, nil
}

// isolationFrom reads a record back from its generic JSON form (already
// validated by a schema).
func isolationFrom(v any) (*Isolation, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("isolation: %w", err)
	}
	var iso Isolation
	if err := json.Unmarshal(b, &iso); err != nil {
		return nil, fmt.Errorf("isolation: %w", err)
	}
	return &iso, nil
}
