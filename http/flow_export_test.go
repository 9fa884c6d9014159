package http

// SetMaxFCSBytes sets the limit of an upload's FCS files for a test and returns the function
// that restores it. Tests that use it must not run in parallel with other uploads.
func SetMaxFCSBytes(n int64) (restore func()) {
	old := maxFCSBytes
	maxFCSBytes = n
	return func() { maxFCSBytes = old }
}
