package engineenv

import (
	"os"
	"path/filepath"
	"testing"
)

func TestPath(t *testing.T) {
	root := t.TempDir()
	t.Setenv("OHLCV_ENGINE_ENV", "")
	t.Setenv("OHLCV_ENGINE_DIR", "")
	if got, want := Path(root), filepath.Join(root, ".engine", "env"); got != want {
		t.Errorf("default: %s, want %s", got, want)
	}
	t.Setenv("OHLCV_ENGINE_DIR", "ci-engine")
	if got, want := Path(root), filepath.Join(root, "ci-engine", "env"); got != want {
		t.Errorf("relative OHLCV_ENGINE_DIR: %s, want %s", got, want)
	}
	t.Setenv("OHLCV_ENGINE_DIR", "/srv/engine")
	if got, want := Path(root), "/srv/engine/env"; got != want {
		t.Errorf("absolute OHLCV_ENGINE_DIR: %s, want %s", got, want)
	}
	t.Setenv("OHLCV_ENGINE_ENV", "/x/env")
	if got := Path(root); got != "/x/env" {
		t.Errorf("OHLCV_ENGINE_ENV: %s, want /x/env", got)
	}
}

func TestRead(t *testing.T) {
	root := t.TempDir()
	t.Setenv("OHLCV_ENGINE_ENV", "")
	t.Setenv("OHLCV_ENGINE_DIR", "")
	if _, err := Read(root); err == nil {
		t.Fatal("no env file: want an error")
	}
	if err := os.MkdirAll(filepath.Join(root, ".engine"), 0o755); err != nil {
		t.Fatal(err)
	}
	env := "# comment\nexport BUILDKIT_HOST='unix:///x.sock'\nREGISTRY=\"127.0.0.1:5000\"\nEMPTY=\n"
	if err := os.WriteFile(filepath.Join(root, ".engine", "env"), []byte(env), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := Read(root, "BUILDKIT_HOST", "REGISTRY")
	if err != nil {
		t.Fatal(err)
	}
	if got["BUILDKIT_HOST"] != "unix:///x.sock" || got["REGISTRY"] != "127.0.0.1:5000" {
		t.Errorf("read %v", got)
	}
	if _, err := Read(root, "EMPTY"); err == nil {
		t.Error("a required key set to nothing: want an error")
	}
}
