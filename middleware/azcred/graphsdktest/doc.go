// Package graphsdktest tests package azcred with the Microsoft Graph SDK for
// Go against the entratest emulator's Graph. It is a module of its own so
// that the library's go.mod does not require the SDK, which is large: run
// its tests from this directory with go test ./...
package graphsdktest
