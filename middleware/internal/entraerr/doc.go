// Package entraerr reads Entra ID error answers (token endpoint JSON bodies and
// redirect query parameters) and decides whether an error needs the user
// (an interactive sign-in) or is a fault of the server side (retry later).
package entraerr
