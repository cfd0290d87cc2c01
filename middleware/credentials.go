package middleware

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
)

// Credentials without secrets. Config.Credential takes any MSAL credential:
//
//   - a certificate: confidential.CertFromPEM reads the certificate and its
//     private key, confidential.NewCredFromCert makes the credential; MSAL
//     signs a client assertion (private_key_jwt, PS256, x5t#S256 header)
//     for each token request. Register the certificate (public part only)
//     on the app registration under Certificates & secrets.
//   - workload identity federation: NewCredFromTokenFile, below, presents
//     a token another identity provider issued to the workload (a
//     Kubernetes service account token projected by Azure Workload
//     Identity, a GitHub Actions OIDC token) instead of a secret. Add a
//     federated identity credential naming that token's issuer and subject
//     to the app registration.
//
// ConfigFromEnv picks one of these, or a secret, from the variables
// azidentity reads.

// NewCredFromTokenFile returns a credential for workload identity federation:
// each time MSAL needs to authenticate the app it reads the token in path
// (AZURE_FEDERATED_TOKEN_FILE, which Azure Workload Identity mounts and
// renews) and sends it as the client assertion. The file is read on every
// token request, never cached, so a renewed token is picked up. An empty
// or unreadable file fails that token request with an error naming path.
func NewCredFromTokenFile(path string) (confidential.Credential, error) {
	if path == "" {
		return confidential.Credential{}, fmt.Errorf("middleware: NewCredFromTokenFile: no path: set AZURE_FEDERATED_TOKEN_FILE to the token file")
	}
	return confidential.NewCredFromAssertionCallback(func(context.Context, confidential.AssertionRequestOptions) (string, error) {
		b, err := os.ReadFile(path)
		if err != nil {
			return "", fmt.Errorf("middleware: read the federated token file: %w", err)
		}
		tok := strings.TrimSpace(string(b))
		if tok == "" {
			return "", fmt.Errorf("middleware: the federated token file %s is empty", path)
		}
		return tok, nil
	}), nil
}
