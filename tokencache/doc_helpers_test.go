package tokencache_test

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"testing"
	"time"
)

// Realistic sizes of Entra ID tokens, in characters.
const (
	accessTokenLen  = 1600
	refreshTokenLen = 1200
	idTokenLen      = 1100
)

func secret(n int) string {
	b := make([]byte, n*3/4)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)[:n]
}

// userDoc returns an MSAL Go (v1.10.1) cache document for one user with one
// access token (expiring at atExpires), a refresh token, an ID token, the
// account and app metadata, with token sizes like Entra ID's.
func userDoc(user string, atExpires time.Time) string {
	return docWith(user, map[string]string{"rt": secret(refreshTokenLen)}, atExpires)
}

// docWith is userDoc with one refresh token per entry of rts (key suffix ->
// secret).
func docWith(user string, rts map[string]string, atExpires time.Time) string {
	home, env, realm, client := "uid-"+user+".tenant-1", "login.microsoftonline.com", "tenant-1", "client-1"
	unix := func(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }
	d := map[string]map[string]any{
		"AccessToken": {home + "-" + env + "-accesstoken-" + client + "-" + realm + "-user.read openid profile": map[string]any{
			"home_account_id": home, "environment": env, "realm": realm, "credential_type": "AccessToken",
			"client_id": client, "secret": secret(accessTokenLen), "target": "User.Read openid profile",
			"expires_on": unix(atExpires), "extended_expires_on": unix(atExpires),
			"cached_at": unix(atExpires.Add(-time.Hour)), "token_type": "Bearer",
		}},
		"RefreshToken": {},
		"IdToken": {home + "-" + env + "-idtoken-" + client + "-" + realm + "-": map[string]any{
			"home_account_id": home, "environment": env, "realm": realm, "credential_type": "IdToken",
			"client_id": client, "secret": secret(idTokenLen),
		}},
		"Account": {home + "-" + env + "-" + realm: map[string]any{
			"home_account_id": home, "environment": env, "realm": realm, "local_account_id": "uid-" + user,
			"authority_type": "MSSTS", "username": user + "@example.com",
		}},
		"AppMetadata": {"appmetadata-" + env + "-" + client: map[string]any{"client_id": client, "environment": env}},
	}
	for k, s := range rts {
		d["RefreshToken"][home+"-"+env+"-refreshtoken-"+client+"-"+k] = map[string]any{
			"home_account_id": home, "environment": env, "credential_type": "RefreshToken",
			"client_id": client, "secret": s,
		}
	}
	b, err := json.Marshal(d)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func decode(t testing.TB, b []byte) map[string]map[string]map[string]any {
	t.Helper()
	var d map[string]map[string]map[string]any
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("MSAL JSON %q: %v", b, err)
	}
	return d
}

func wantSameJSON(t testing.TB, got []byte, want string) {
	t.Helper()
	if g, w := decode(t, got), decode(t, []byte(want)); !reflect.DeepEqual(g, w) {
		t.Fatalf("MSAL JSON differs:\n got %s\nwant %s", got, want)
	}
}

// refreshSecrets returns the refresh token secrets in an MSAL document.
func refreshSecrets(t testing.TB, b []byte) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, e := range decode(t, b)["RefreshToken"] {
		out[fmt.Sprint(e["secret"])] = true
	}
	return out
}
