// Package ids checks the identifiers the clients put into URLs and token authorities.
package ids

// IsGUID reports whether s is a GUID in its 36-character form (8-4-4-4-12 hex digits), the
// form Entra ID, Graph, CIPP and Partner Center use for tenant, application and object IDs.
// The braced, urn:uuid: and undashed forms that uuid.Parse accepts are refused: the services
// refuse them in a path or a body.
func IsGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}
