"""Tests for API key configuration (env var or /run/secrets/api_key)."""

import os
import tempfile
import unittest

from src.config import api_key_status, load_api_key

NO_FILE = "/nonexistent/ohlcv-rag/api_key"


class ApiKeyTest(unittest.TestCase):
    def setUp(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.secret = os.path.join(tmp.name, "api_key")

    def write_secret(self, text):
        with open(self.secret, "w", encoding="utf-8") as fh:
            fh.write(text)

    def test_from_env(self):
        self.assertEqual(load_api_key(env={"API_KEY": " k-env "}, secret_path=NO_FILE), "k-env")

    def test_from_file(self):
        self.write_secret("k-file\n")
        self.assertEqual(load_api_key(env={}, secret_path=self.secret), "k-file")

    def test_env_wins_over_file(self):
        self.write_secret("k-file")
        self.assertEqual(load_api_key(env={"API_KEY": "k-env"}, secret_path=self.secret), "k-env")

    def test_none_when_unset_or_empty(self):
        self.assertIsNone(load_api_key(env={}, secret_path=NO_FILE))
        self.write_secret("  \n")
        self.assertIsNone(load_api_key(env={"API_KEY": ""}, secret_path=self.secret))

    def test_status_never_reveals_value(self):
        status = api_key_status(env={"API_KEY": "s3cr3t"}, secret_path=NO_FILE)
        self.assertEqual(status, "API key: set")
        self.assertNotIn("s3cr3t", status)
        self.assertEqual(api_key_status(env={}, secret_path=NO_FILE), "API key: not set")

    @unittest.skipUnless(os.environ.get("OHLCV_REQUIRE_API_KEY") == "1",
                         "set OHLCV_REQUIRE_API_KEY=1 (and mount the api_key secret)")
    def test_api_key_present(self):
        """In the Docker test stage the build secret must be visible."""
        self.assertIsNotNone(load_api_key(), "API_KEY unset and /run/secrets/api_key missing")


if __name__ == "__main__":
    unittest.main()
