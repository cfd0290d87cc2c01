package middleware

import (
	"net/url"
	"strings"

	"github.com/consentry/consentry/middleware/internal/scope"
)

// National clouds. An app in a national cloud uses that cloud's Entra host
// in Config.Authority (ConfigFromEnv takes it from AZURE_AUTHORITY_HOST) and
// that cloud's Microsoft Graph. Short scopes ("User.Read") name Microsoft
// Graph in whichever cloud signs the user in, so routes need no change;
// "https://graph.microsoft.us/User.Read" and "User.Read" are the same scope
// to the middleware, as to Entra. Calls go to GraphURL's host
// (https://learn.microsoft.com/graph/deployments,
// https://learn.microsoft.com/graph/sdks/national-clouds).

// graphHosts maps an Entra authority host to its cloud's Microsoft Graph.
var graphHosts = map[string]string{
	"login.microsoftonline.com":        scope.GraphResource,
	"login.microsoftonline.us":         "https://graph.microsoft.us",
	"login.chinacloudapi.cn":           "https://microsoftgraph.chinacloudapi.cn",
	"login.partner.microsoftonline.cn": "https://microsoftgraph.chinacloudapi.cn",
}

// GraphURL returns the root of Microsoft Graph in the cloud of
// Config.Authority, e.g. "https://graph.microsoft.us" for
// https://login.microsoftonline.us/...; append "/v1.0/me". Any other host
// (a private cloud, the entratest emulator) gets the global
// "https://graph.microsoft.com". The US Department of Defense's Graph,
// https://dod-graph.microsoft.us, shares its authority host with US
// Government (GCC High): such apps call it by name.
func (m *Middleware) GraphURL() string { return graphURLFor(m.cfg.Authority) }

func graphURLFor(authority string) string {
	u, err := url.Parse(authority)
	if err != nil {
		return scope.GraphResource
	}
	if g, ok := graphHosts[strings.ToLower(u.Hostname())]; ok {
		return g
	}
	return scope.GraphResource
}
