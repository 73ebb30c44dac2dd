import sys, unittest
sys.path.insert(0, "src")
from mathlib import square

class SquareTest(unittest.TestCase):
    def test_square(self):
        self.assertEqual(square(3), 9)
