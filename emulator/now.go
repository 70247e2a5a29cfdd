package emulator

import "time"

// Now returns the current time on the emulator's clock (see WithClock), the
// time its expirations are measured against. With it an *Emulator is itself
// a Clock, so tools that show expirations (the explorer) read the same time
// as the API.
func (e *Emulator) Now() time.Time { return e.clock.Now() }
