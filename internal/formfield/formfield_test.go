package formfield

import (
	"strings"
	"testing"
)

func TestReplace(t *testing.T) {
	t.Parallel()
	secret := func(name string) (string, bool) { return "[REDACTED]", strings.EqualFold(name, "password") }
	for _, tt := range []struct{ body, want string }{
		{"username=a%40b.c&password=MyS3cret%Typo", "username=a%40b.c&password=%5BREDACTED%5D"},
		{"password=p%26w&x=1", "password=%5BREDACTED%5D&x=1"},
		{"Password=abc", "Password=%5BREDACTED%5D"},
		{"pass%77ord=abc", "pass%77ord=%5BREDACTED%5D"},
		{`{"password":"abc"}`, `{"password":"abc"}`},
		{"no form here", "no form here"},
		{"--X\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\nalice\r\n--X\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\nCorrectHorse9!\r\n--X--\r\n",
			"--X\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\nalice\r\n--X\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\n[REDACTED]\r\n--X--\r\n"},
		{"--X\r\nCONTENT-DISPOSITION: form-data; name=\"password\"\r\n\r\nshout\r\n--X--", "--X\r\nCONTENT-DISPOSITION: form-data; name=\"password\"\r\n\r\n[REDACTED]\r\n--X--"},
		{"--X\r\ncontent-disposition: form-data; name=password\r\nContent-Type: text/plain\r\n\r\nCut short", "--X\r\ncontent-disposition: form-data; name=password\r\nContent-Type: text/plain\r\n\r\n[REDACTED]"},
	} {
		got, _ := Replace(tt.body, secret)
		if got != tt.want {
			t.Errorf("Replace(%q) =\n%q, want\n%q", tt.body, got, tt.want)
		}
		if strings.Contains(got, "Typo") || strings.Contains(got, "Horse") || strings.Contains(got, "Cut short") {
			t.Errorf("Replace(%q) shows the password: %q", tt.body, got)
		}
	}
}
