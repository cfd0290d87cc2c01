// Package scope holds what the middleware knows about delegated scopes:
// their canonical spelling (Graph's however written), the resource they
// belong to, the validation of one route's scope set and its cache key, and
// the OpenID Connect scopes every sign-in adds.
package scope
