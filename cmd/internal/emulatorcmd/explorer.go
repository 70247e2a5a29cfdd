package emulatorcmd

import (
	"net"
	"net/http"

	"github.com/workerskv/workerskv/emulator"
	"github.com/workerskv/workerskv/emulator/explorer"
)

// withExplorer serves the KV REST API under /client/v4 and the web
// explorer (emulator/explorer) at every other path. The explorer asks for
// the API token at login and reads expirations on the emulator's clock.
func withExplorer(e *emulator.Emulator, account string) http.Handler {
	return explorer.Combined(e, explorer.WithAccountID(account))
}

// explorerURL is the explorer's address as the banner prints it.
func explorerURL(a net.Addr) string {
	return "http://" + displayAddr(a) + "/"
}
