// Package returnurl decides whether a URL taken from a request may be used as the
// place to send the browser back to after sign-in: only same-origin paths qualify.
package returnurl
