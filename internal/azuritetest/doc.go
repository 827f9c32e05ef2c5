// Package azuritetest runs a real Azurite (the Azure Storage emulator, npm
// package azurite) for tests of Azure Blob Storage code.
//
// It finds the azurite-blob launcher through LAKEFUSE_AZURITE_BIN, then
// PATH, then the newest install cached by .ci/install-azurite under
// $HOME/.cache/lakefuse/azurite-*/node_modules/.bin/azurite-blob. Without
// one, tests skip, except when CI=true: there a missing server must never
// pass silently, so they fail.
//
// Start gives a test its own server; Shared gives every test of a package one
// server (its TestMain calls Main), and NewContainer keeps the tests apart.
// The server listens on 127.0.0.1 only, keeps its data in a temporary
// directory, knows one storage account with a random key (AZURITE_ACCOUNTS),
// accepts the SDK's newer service version (--skipApiVersionCheck) and is
// stopped (or, on Linux, killed with the test binary) at the end.
//
// It is test plumbing: it owns no production behaviour and must not be
// imported outside tests.
package azuritetest
