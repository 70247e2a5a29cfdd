// Package explorertest holds the browser tests of the emulator's web
// explorer (github.com/workerskv/workerskv/emulator/explorer): they drive a
// real headless Chromium with chromedp through the pages a person uses.
// They live in the commands' module, not the emulator's, so that chromedp is
// not in the library users' module graph; the explorer's other tests stay
// with it.
package explorertest
