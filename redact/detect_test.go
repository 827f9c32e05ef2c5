package redact

import (
	"encoding/json"
	"strings"
	"testing"
)

func allOn() *Redactor {
	r, err := New(&Policy{Version: 1}, nil)
	if err != nil {
		panic(err)
	}
	return r
}

func TestDetectors(t *testing.T) {
	r := allOn()
	cases := []struct{ in, want string }{
		// e-mail
		{"write to alice.smith+tag@example.co.uk today", "write to [REDACTED:email] today"},
		{"<bob@mail.example.com>", "<[REDACTED:email]>"},
		{"not an address: foo@bar, user@localhost, @handle", "not an address: foo@bar, user@localhost, @handle"},
		// phone
		{"call +1 415-555-0132 now", "call [REDACTED:phone] now"},
		{"tel:+49 (0)30 1234567", "tel:[REDACTED:phone]"},
		{"+44 20 7946 0958.", "[REDACTED:phone]."},
		{"office (415) 555-0132", "office [REDACTED:phone]"},
		{"415.555.0132 or 415-555-0132", "[REDACTED:phone] or [REDACTED:phone]"},
		{"version 1.2.3, date 2026-03-01, n=12345678, +123", "version 1.2.3, date 2026-03-01, n=12345678, +123"},
		// card (Luhn, issuer)
		{"card 4111 1111 1111 1111 exp", "card [REDACTED:credit_card] exp"},
		{"4111-1111-1111-1111", "[REDACTED:credit_card]"},
		{"amex 378282246310005", "amex [REDACTED:credit_card]"},
		{"5555555555554444", "[REDACTED:credit_card]"},
		{"bad luhn 4111111111111112, ts 1733520000000", "bad luhn 4111111111111112, ts 1733520000000"},
		{"4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1", "4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1"},
		// IBAN (mod 97)
		{"IBAN DE89 3704 0044 0532 0130 00 please", "IBAN [REDACTED:iban] please"},
		{"GB82WEST12345698765432", "[REDACTED:iban]"},
		{"GB82WEST12345698765433 DE00123", "GB82WEST12345698765433 DE00123"},
		// IP
		{"from 192.168.1.20:8080", "from [REDACTED:ip]:8080"},
		{"v6 2001:db8::8a2e:370:7334 and fe80::1", "v6 [REDACTED:ip] and [REDACTED:ip]"},
		{"at 12:30:45, mac 00:1a:2b:3c:4d:5e, std::vector, a[::2], 1.2.3.4.5, 999.1.1.1", "at 12:30:45, mac 00:1a:2b:3c:4d:5e, std::vector, a[::2], 1.2.3.4.5, 999.1.1.1"},
		// secrets
		{"key sk-proj-abcdefghijklmnopqrstuvwxyz012345", "key [REDACTED:secret]"},
		{"LANGFUSE_SECRET_KEY=sk-lf-1234abcd-5678", "LANGFUSE_SECRET_KEY=[REDACTED:secret]"},
		{"pk-lf-0a1b2c3d-4e5f", "[REDACTED:secret]"},
		{"ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789", "[REDACTED:secret]"},
		{"xoxb-1234567890-abcdefghij", "[REDACTED:secret]"},
		{"aws AKIAIOSFODNN7EXAMPLE.", "aws [REDACTED:secret]."},
		{"jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
			"jwt [REDACTED:secret]"},
		{"Authorization: Bearer abc123def456ghi789", "Authorization: Bearer [REDACTED:secret]"},
		{"token Xk9fQ2mP7vL3sR8tW1yB4nC6hJ0dG5aZ", "token [REDACTED:secret]"},
		{"task-1234 sk-short Bearer authentication getUserByIdentifierAndTenant2", "task-1234 sk-short Bearer authentication getUserByIdentifierAndTenant2"},
		{"uuid 550e8400-e29b-41d4-a716-446655440000 sha 2fd4e1c67a2d28fced849ee1bb76e7391b93eb12", "uuid 550e8400-e29b-41d4-a716-446655440000 sha 2fd4e1c67a2d28fced849ee1bb76e7391b93eb12"},
		// media tokens are left alone
		{"@@@langfuseMedia:type=image/png|id=Xk9fQ2mP7vL3sR8tW1yB4n|source=base64_data_uri@@@", "@@@langfuseMedia:type=image/png|id=Xk9fQ2mP7vL3sR8tW1yB4n|source=base64_data_uri@@@"},
		// non-ASCII around findings
		{"Grüße an jürgen@example.de 📧", "Grüße an [REDACTED:email] 📧"},
	}
	for _, c := range cases {
		if got := r.String(c.in); got != c.want {
			t.Errorf("String(%q)\n got %q\nwant %q", c.in, got, c.want)
		}
		if again := r.String(r.String(c.in)); again != r.String(c.in) {
			t.Errorf("not idempotent on %q: %q", c.in, again)
		}
	}
}

func TestDetectorsInJSON(t *testing.T) {
	r := allOn()
	in := `{"messages":[{"role":"user","content":"Hi,\nI am bob@example.com\nmy card: 4111111111111111"}],` +
		`"n":4111111111111111,"ip":"10.0.0.1","k\u00e9y":"\"Bearer abc123def456ghi789\"","ok":true}`
	want := `{"messages":[{"role":"user","content":"Hi,\nI am [REDACTED:email]\nmy card: [REDACTED:credit_card]"}],` +
		`"n":4111111111111111,"ip":"[REDACTED:ip]","k\u00e9y":"\"Bearer [REDACTED:secret]\"","ok":true}`
	got := r.JSON(in)
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	if !json.Valid([]byte(got)) {
		t.Fatal("invalid JSON out")
	}
	// Escapes are word boundaries: the n of \n does not start a word.
	if got := r.JSON(`"\nsk-abcdefghijklmnopqrstuvwxyz"`); got != `"\n[REDACTED:secret]"` {
		t.Fatalf("escape boundary: %s", got)
	}
	// Not JSON: plain text.
	if got := r.JSON(`plain bob@example.com`); got != `plain [REDACTED:email]` {
		t.Fatalf("plain: %s", got)
	}
}

func TestHighEntropyNoFalsePositives(t *testing.T) {
	r := allOn()
	for _, s := range []string{
		"InternationalizationConfiguration",
		"https://example.com/api/v1/UsersController/ListAllUsersByTenant",
		"/usr/lib/python3.11/site-packages/langfuse/_client/client.py",
		"The quick brown fox jumps over the lazy dog 1234567890 times.",
		"gpt-4o-mini-2024-07-18", "claude-3-5-sonnet-20241022",
		strings.Repeat("ab12", 20),
	} {
		if got := r.String(s); got != s {
			t.Errorf("%q became %q", s, got)
		}
	}
}
