// Command oidcserver is the test OIDC issuer of the local Sigstore stack: mockoidc
// (authorize hands out a code without login) plus a loopback-only mint endpoint so
// tests can get an ID token for any e-mail subject in one request:
//
//	POST /mint?sub=alice@example.com[&ttl=1s][&verified=false]
//
// returns the raw JWT (iss = http://ADDR/oidc, aud = sigstore, sub = email = EMAIL).
// A negative ttl (e.g. -1m) yields a token that has already expired.
//
// A JSON object in the request body mints a CI token instead: sub as given,
// no email, and the object's members as further claims (GitHub Actions'
// repository, workflow_ref, run_id, ...; GitLab's project_path, ...), for
// the issuers Fulcio maps as github-workflow or gitlab-pipeline. The
// registered claims (iss, aud, exp, ...) cannot be set this way.
package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:47531", "listen address (loopback)")
	keyFile := flag.String("key", "", "PEM RSA signing key; created if missing (empty: ephemeral)")
	clientID := flag.String("client-id", "sigstore", "client id, the tokens' aud")
	ttl := flag.Duration("ttl", 10*time.Minute, "default ID token lifetime")
	flag.Parse()

	key, err := loadOrCreateKey(*keyFile)
	if err != nil {
		log.Fatal(err)
	}
	m, err := mockoidc.NewServer(key)
	if err != nil {
		log.Fatal(err)
	}
	m.ClientID, m.AccessTTL = *clientID, *ttl

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	// Our own mux (mockoidc's Start has no hook for extra routes); setting
	// m.Server is what makes mockoidc's Issuer() and discovery document work.
	// mockoidc's session store is a plain map: serialise every request.
	var mu sync.Mutex
	locked := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			defer mu.Unlock()
			h(w, r)
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc(mockoidc.AuthorizationEndpoint, locked(m.Authorize))
	mux.HandleFunc(mockoidc.TokenEndpoint, locked(m.Token))
	mux.HandleFunc(mockoidc.UserinfoEndpoint, locked(m.Userinfo))
	mux.HandleFunc(mockoidc.JWKSEndpoint, locked(m.JWKS))
	mux.HandleFunc(mockoidc.DiscoveryEndpoint, locked(m.Discovery))
	mux.HandleFunc("/mint", locked(func(w http.ResponseWriter, r *http.Request) { mint(m, w, r) }))
	m.Server = &http.Server{Addr: ln.Addr().String(), Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	log.Printf("oidcserver: issuer %s", m.Issuer())
	log.Fatal(m.Server.Serve(ln))
}

func mint(m *mockoidc.MockOIDC, w http.ResponseWriter, r *http.Request) {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err != nil || !net.ParseIP(host).IsLoopback() {
		http.Error(w, "loopback only", http.StatusForbidden)
		return
	}
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	q := r.URL.Query()
	sub := q.Get("sub")
	if sub == "" {
		http.Error(w, "missing sub", http.StatusBadRequest)
		return
	}
	cfg := m.Config()
	if s := q.Get("ttl"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			http.Error(w, "bad ttl: "+err.Error(), http.StatusBadRequest)
			return
		}
		cfg.AccessTTL = d
	}
	var user mockoidc.User = &mockoidc.MockUser{Subject: sub, Email: sub, EmailVerified: q.Get("verified") != "false"}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<16))
	if err != nil {
		http.Error(w, "reading body: "+err.Error(), http.StatusBadRequest)
		return
	}
	if len(body) > 0 {
		var extra map[string]any
		if err := json.Unmarshal(body, &extra); err != nil {
			http.Error(w, "body is not a JSON object of claims: "+err.Error(), http.StatusBadRequest)
			return
		}
		for _, k := range registered {
			if _, ok := extra[k]; ok {
				http.Error(w, "claim "+k+" cannot be set in the body", http.StatusBadRequest)
				return
			}
		}
		user = ciUser{sub: sub, extra: extra}
	}
	// Same path as authorize+token: a session for the user, then its ID token.
	sess, err := m.SessionStore.NewSession("openid email", "", user, "", "")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	tok, err := sess.IDToken(cfg, m.Keypair, m.Now())
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	fmt.Fprint(w, tok)
}

// registered are the claims the issuer sets itself.
var registered = []string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "nonce"}

// ciUser is a CI job's identity: its subject and the CI system's claims.
type ciUser struct {
	sub   string
	extra map[string]any
}

func (u ciUser) ID() string { return u.sub }

func (u ciUser) Userinfo([]string) ([]byte, error) {
	return json.Marshal(map[string]string{"sub": u.sub})
}

func (u ciUser) Claims(_ []string, base *mockoidc.IDTokenClaims) (jwt.Claims, error) {
	b, err := json.Marshal(base)
	if err != nil {
		return nil, err
	}
	c := jwt.MapClaims{}
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, err
	}
	for k, v := range u.extra {
		c[k] = v
	}
	return c, nil
}

// loadOrCreateKey keeps the signing key across restarts so a running Fulcio's
// cached JWKS stays valid.
func loadOrCreateKey(path string) (*rsa.PrivateKey, error) {
	if path == "" {
		return rsa.GenerateKey(rand.Reader, 2048)
	}
	b, err := os.ReadFile(path)
	if err == nil {
		blk, _ := pem.Decode(b)
		if blk == nil {
			return nil, fmt.Errorf("%s: no PEM block", path)
		}
		k, err := x509.ParsePKCS1PrivateKey(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return k, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".oidckey-*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	if err := pem.Encode(tmp, &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	return k, os.Rename(tmp.Name(), path)
}
