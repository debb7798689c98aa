// Package wire holds the JSON shapes more than one service client decodes: Graph's error
// envelope (Graph itself, Partner Center's GDAP endpoints, CIPP's Graph pass-through), the
// flexible scalar types for fields a service sends as a number one day and a string the next,
// and Graph's user object with its one mapping onto tenantsync.User. Each client names these
// types in its own wire structs; the decoding rules live here once.
package wire
