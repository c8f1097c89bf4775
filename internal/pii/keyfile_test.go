package pii_test

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/waymark-org/waymark/internal/pii"
)

func TestGenerateKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		id      string
		wantErr bool
	}{
		{"k1", false},
		{"Prod_2024-Key-01", false},
		{"", true},
		{"k.1", true},
		{"abcdefghijklmnopq", true},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			t.Parallel()
			e, err := pii.GenerateKey(tt.id)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("GenerateKey(%q) = %q, want an error", tt.id, e)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(e, tt.id+":") {
				t.Errorf("entry %q does not start with %q", e, tt.id+":")
			}
			ring := mustRing(t, e)
			if ring.NewestKeyID() != tt.id {
				t.Errorf("NewestKeyID = %q, want %q", ring.NewestKeyID(), tt.id)
			}
			other, err := pii.GenerateKey(tt.id)
			if err != nil {
				t.Fatal(err)
			}
			if other == e {
				t.Error("two generated keys are equal")
			}
		})
	}
}

func TestDefaultKeyFile(t *testing.T) {
	t.Parallel()
	if got, want := pii.DefaultKeyFile("/var/lib/waymark"), filepath.Join("/var/lib/waymark", "secret.key"); got != want {
		t.Errorf("DefaultKeyFile = %q, want %q", got, want)
	}
}

func TestWriteNewKeyFile(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	path := pii.DefaultKeyFile(dir)
	if err := pii.WriteNewKeyFile(path); err != nil {
		t.Fatalf("WriteNewKeyFile: %v", err)
	}
	assertMode(t, dir, 0o700)
	assertMode(t, path, 0o600)
	content, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(content), "#") {
		t.Errorf("key file does not start with a comment:\n%s", content)
	}
	ring, err := pii.LoadKeyFile(path)
	if err != nil {
		t.Fatalf("LoadKeyFile: %v", err)
	}
	if got := ring.String(); got != "keyring(k1)" {
		t.Errorf("new key file holds %s, want keyring(k1)", got)
	}

	err = pii.WriteNewKeyFile(path)
	if !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second WriteNewKeyFile error = %v, want fs.ErrExist", err)
	}
	if !strings.Contains(err.Error(), path) {
		t.Errorf("error %q does not name the file", err)
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(after, content) {
		t.Error("refused WriteNewKeyFile still changed the file")
	}
}

func TestAppendKey(t *testing.T) {
	t.Parallel()
	k1, k5, prod := entry("k1", testKey("1")), entry("k5", testKey("5")), entry("prod", testKey("p"))
	tests := []struct {
		name     string
		content  string
		wantIDs  []string // ids returned by successive appends
		wantRing string
	}{
		{"after k1", "# keys\n" + k1 + "\n", []string{"k2", "k3"}, "keyring(k1,k2,k3)"},
		{"gap in numbers", k1 + "," + k5 + "\n", []string{"k6"}, "keyring(k1,k5,k6)"},
		{"highest number equals the count plus one", k1 + "\n" + entry("k3", testKey("3")) + "\n", []string{"k4"}, "keyring(k1,k3,k4)"},
		{"no trailing newline", k1, []string{"k2"}, "keyring(k1,k2)"},
		{"custom id", "# ops\n\n" + prod + "\n", []string{"k2"}, "keyring(prod,k2)"},
		{"k2 taken out of order", entry("k2", testKey("2")) + "\n" + k1 + "\n", []string{"k3"}, "keyring(k2,k1,k3)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "secret.key")
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			before := mustRing(t, tt.content)
			aad := []byte("contact_identity.value")
			oldCT, err := before.Encrypt([]byte("+15551234567"), aad)
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range tt.wantIDs {
				got, err := pii.AppendKey(path)
				if err != nil {
					t.Fatalf("AppendKey: %v", err)
				}
				if got != want {
					t.Errorf("AppendKey = %q, want %q", got, want)
				}
			}
			assertMode(t, path, 0o600)
			content, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(string(content), tt.content) {
				t.Errorf("existing content not kept; file is now:\n%s", content)
			}
			after, err := pii.LoadKeyFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if got := after.String(); got != tt.wantRing {
				t.Errorf("ring after appending = %s, want %s", got, tt.wantRing)
			}
			if p, err := after.Decrypt(oldCT, aad); err != nil || string(p) != "+15551234567" {
				t.Errorf("old ciphertext after appending decrypts to %q, %v", p, err)
			}
			if !after.NeedsRotation(oldCT) {
				t.Error("old ciphertext does not need rotation after appending a key")
			}
			if !bytes.Equal(after.BlindIndex("phone", "+15551234567"), before.BlindIndex("phone", "+15551234567")) {
				t.Error("appending a key changed the blind index")
			}
		})
	}
}

func TestAppendKeyErrors(t *testing.T) {
	t.Parallel()
	t.Run("missing file", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "secret.key")
		if _, err := pii.AppendKey(path); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("AppendKey error = %v, want fs.ErrNotExist", err)
		}
		if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("AppendKey created the missing file (stat: %v)", err)
		}
	})
	t.Run("invalid file left alone", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "secret.key")
		bad := "k1:tooshort\n"
		if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := pii.AppendKey(path)
		if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "entry 1") {
			t.Errorf("AppendKey error = %v, want one naming the file and the entry", err)
		}
		content, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if string(content) != bad {
			t.Errorf("invalid key file was changed to:\n%s", content)
		}
	})
}

func TestLoad(t *testing.T) {
	t.Parallel()
	envRing := entry("env1", testKey("env"))
	fileRing := "# file\n" + entry("file1", testKey("file")) + "\n"
	tests := []struct {
		name       string
		env        string
		file       string // written to the data dir when not empty
		noDataDir  bool
		wantRing   string
		wantSource string // "FILE" stands for the key file path
		wantErr    error
		wantErrMsg string
	}{
		{name: "env only", env: envRing, wantRing: "keyring(env1)", wantSource: "WAYMARK_SECRET_KEY"},
		{name: "env wins over file", env: envRing, file: fileRing, wantRing: "keyring(env1)", wantSource: "WAYMARK_SECRET_KEY"},
		{name: "env wins over a broken file", env: envRing, file: "garbage", wantRing: "keyring(env1)", wantSource: "WAYMARK_SECRET_KEY"},
		{name: "file when env empty", file: fileRing, wantRing: "keyring(file1)", wantSource: "FILE"},
		{name: "file when env blank", env: " \n", file: fileRing, wantRing: "keyring(file1)", wantSource: "FILE"},
		{name: "neither", wantErr: pii.ErrNoKey},
		{name: "no data dir", noDataDir: true, wantErr: pii.ErrNoKey},
		{name: "invalid env does not fall back", env: "env1:bad", file: fileRing, wantErrMsg: "WAYMARK_SECRET_KEY"},
		{name: "invalid file", file: "k1:bad\n", wantErrMsg: "secret.key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			path := pii.DefaultKeyFile(dir)
			if tt.file != "" {
				if err := os.WriteFile(path, []byte(tt.file), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if tt.noDataDir {
				dir = ""
			}
			ring, source, err := pii.Load(tt.env, dir)
			switch {
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Load error = %v, want %v", err, tt.wantErr)
				}
				return
			case tt.wantErrMsg != "":
				if err == nil || errors.Is(err, pii.ErrNoKey) || !strings.Contains(err.Error(), tt.wantErrMsg) {
					t.Fatalf("Load error = %v, want one mentioning %q and not ErrNoKey", err, tt.wantErrMsg)
				}
				return
			case err != nil:
				t.Fatalf("Load: %v", err)
			}
			if got := ring.String(); got != tt.wantRing {
				t.Errorf("Load ring = %s, want %s", got, tt.wantRing)
			}
			want := tt.wantSource
			if want == "FILE" {
				want = path
			}
			if source != want {
				t.Errorf("Load source = %q, want %q", source, want)
			}
		})
	}
}

func assertMode(t *testing.T, path string, want fs.FileMode) {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := info.Mode().Perm(); got != want {
		t.Errorf("%s has mode %v, want %v", path, got, want)
	}
}
