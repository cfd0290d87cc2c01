package middleware

import (
	"fmt"
	"net/url"
	"os"
	"reflect"
	"strings"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
)

// Environment variables ConfigFromEnv reads, as azidentity's
// EnvironmentCredential and WorkloadIdentityCredential do
// (https://learn.microsoft.com/azure/developer/go/sdk/authentication/credential-chains).
const (
	EnvTenantID            = "AZURE_TENANT_ID"
	EnvClientID            = "AZURE_CLIENT_ID"
	EnvClientSecret        = "AZURE_CLIENT_SECRET"
	EnvCertificatePath     = "AZURE_CLIENT_CERTIFICATE_PATH"
	EnvCertificatePassword = "AZURE_CLIENT_CERTIFICATE_PASSWORD"
	EnvFederatedTokenFile  = "AZURE_FEDERATED_TOKEN_FILE"
	EnvAuthorityHost       = "AZURE_AUTHORITY_HOST"
)

// DefaultAuthorityHost is Entra ID's host in the global cloud.
const DefaultAuthorityHost = "https://login.microsoftonline.com"

// ConfigFromEnv fills cfg's Authority, ClientID and Credential from the
// environment, the way azidentity reads it, and returns it; fields already
// set are kept. Authority is AZURE_AUTHORITY_HOST (an https URL, default
// https://login.microsoftonline.com; https://login.microsoftonline.us or
// https://login.chinacloudapi.cn for national clouds, see GraphURL) followed
// by AZURE_TENANT_ID (a tenant id, or "organizations" for a multi-tenant
// app). ClientID is AZURE_CLIENT_ID. Credential is the first of:
// AZURE_CLIENT_SECRET (a secret); AZURE_CLIENT_CERTIFICATE_PATH (a PEM file
// holding the certificate and its private key, encrypted with
// AZURE_CLIENT_CERTIFICATE_PASSWORD if set; PKCS#12 is not read: convert it
// with openssl pkcs12 -nodes); AZURE_FEDERATED_TOKEN_FILE (workload identity
// federation, NewCredFromTokenFile). The error names every variable that is
// missing, or the file that cannot be read.
func ConfigFromEnv(cfg Config) (Config, error) {
	env := func(k string) string { return strings.TrimSpace(os.Getenv(k)) }
	var missing []string
	if cfg.Authority == "" {
		if env(EnvTenantID) == "" {
			missing = append(missing, EnvTenantID)
		}
		authority, err := envAuthority(env(EnvAuthorityHost), env(EnvTenantID))
		if err != nil {
			return cfg, err
		}
		cfg.Authority = authority
	}
	if cfg.ClientID == "" {
		if cfg.ClientID = env(EnvClientID); cfg.ClientID == "" {
			missing = append(missing, EnvClientID)
		}
	}
	credSet := !reflect.ValueOf(cfg.Credential).IsZero()
	if !credSet && env(EnvClientSecret) == "" && env(EnvCertificatePath) == "" && env(EnvFederatedTokenFile) == "" {
		missing = append(missing, EnvClientSecret+" (or "+EnvCertificatePath+" or "+EnvFederatedTokenFile+")")
	}
	if len(missing) > 0 {
		return cfg, fmt.Errorf("middleware: ConfigFromEnv: set %s", strings.Join(missing, ", "))
	}
	if credSet {
		return cfg, nil
	}
	var err error
	cfg.Credential, err = envCredential(env)
	return cfg, err
}

// envAuthority is the authority of host (DefaultAuthorityHost when empty)
// and tenant. The host must be an https URL with nothing after its host, as
// azidentity requires: tokens, secrets and client assertions go there. The
// tenant is a tenant id, a domain or "organizations", as azidentity checks.
func envAuthority(host, tenant string) (string, error) {
	if host == "" {
		host = DefaultAuthorityHost
	}
	u, err := url.Parse(host)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || strings.Trim(u.Path, "/") != "" ||
		u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return "", fmt.Errorf("middleware: ConfigFromEnv: %s %q must be an https URL such as %s, with no path",
			EnvAuthorityHost, host, DefaultAuthorityHost)
	}
	bad := strings.ContainsFunc(tenant, func(r rune) bool {
		return r != '.' && r != '-' && !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9')
	})
	if tenant != "" && (bad || strings.Trim(tenant, ".") == "") { // empty: reported as missing
		return "", fmt.Errorf("middleware: ConfigFromEnv: %s %q must be a tenant id, a domain or \"organizations\"", EnvTenantID, tenant)
	}
	return "https://" + u.Host + "/" + tenant, nil
}

// envCredential is the credential the environment names: a secret, a
// certificate, or a federated token file, in that order.
func envCredential(env func(string) string) (confidential.Credential, error) {
	switch {
	case env(EnvClientSecret) != "":
		c, err := confidential.NewCredFromSecret(env(EnvClientSecret))
		if err != nil {
			return c, fmt.Errorf("middleware: ConfigFromEnv: %s: %w", EnvClientSecret, err)
		}
		return c, nil
	case env(EnvCertificatePath) != "":
		return certFromFile(env(EnvCertificatePath), os.Getenv(EnvCertificatePassword))
	}
	return NewCredFromTokenFile(env(EnvFederatedTokenFile))
}

// certFromFile reads a PEM certificate and private key into a credential.
func certFromFile(path, password string) (confidential.Credential, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return confidential.Credential{}, fmt.Errorf("middleware: ConfigFromEnv: %s: %w", EnvCertificatePath, err)
	}
	certs, key, err := confidential.CertFromPEM(b, password)
	if err != nil {
		return confidential.Credential{}, fmt.Errorf("middleware: ConfigFromEnv: %s %s must be PEM with the certificate and its private key: %w",
			EnvCertificatePath, path, err)
	}
	return confidential.NewCredFromCert(certs, key)
}
