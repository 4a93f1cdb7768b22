package idp

// NewWithClock is New with a clock, for tests that expire requests and codes.
var NewWithClock = newHandler
