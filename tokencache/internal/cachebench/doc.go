// Package cachebench is the benchmark shared by every tokencache.Store: one
// user's MSAL Replace+Export round with 10, 10,000 and 100,000 users in the
// store, and a realistic MSAL cache document for one user.
package cachebench
