package ids

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestIsGUID(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"3f8a2c1e-5b6d-4e7f-8a9b-0c1d2e3f4a5b", true},
		{"3F8A2C1E-5B6D-4E7F-8A9B-0C1D2E3F4A5B", true},
		{"00000000-0000-0000-0000-000000000000", true},
		{"", false},
		{"3f8a2c1e5b6d4e7f8a9b0c1d2e3f4a5b", false},
		{"{3f8a2c1e-5b6d-4e7f-8a9b-0c1d2e3f4a5b}", false},
		{"urn:uuid:3f8a2c1e-5b6d-4e7f-8a9b-0c1d2e3f4a5b", false},
		{"3f8a2c1e-5b6d-4e7f-8a9b-0c1d2e3f4a5g", false},
		{"3f8a2c1e-5b6d-4e7f-8a9b_0c1d2e3f4a5b", false},
		{"3f8a2c1e-5b6d-4e7f-8a9b-0c1d2e3f4a5b ", false},
		{"contoso.onmicrosoft.com", false},
		{"3f8a2c1e-5b6d-4e7f-8a9b-0c1d2e3f4a5\u00e9", false},
	} {
		assert.Equal(t, tc.want, IsGUID(tc.in), "%q", tc.in)
	}
}
