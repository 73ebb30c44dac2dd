package main

import (
	"bufio"
	"fmt"
	"os"
)

var version = "unset"

func count(s *bufio.Scanner) int {
	n := 0
	for s.Scan() {
		n++
	}
	return n
}

func main() {
	s := bufio.NewScanner(os.Stdin)
	s.Split(bufio.ScanWords)
	fmt.Println(version, count(s))
}
