// Command example is a web app that signs users in with Microsoft Entra ID and asks
// for each Microsoft Graph permission only when a page needs it, with Consentry.
//
//	go run ./example                  on the embedded Entra ID emulator
//	go run ./example -emulator-only   only the emulator, for your own app
//	go run ./example -h               flags and environment (real tenant, Redis)
package main
