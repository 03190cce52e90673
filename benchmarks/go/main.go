// Command ttpbench times stellar/go on the fixture ledgers: LedgerCloseMeta decode alone, and
// decode + the token-transfer processor (processors/token_transfer), one goroutine.
//
// Usage: ttpbench [-repeat N] PASSPHRASE=FILE ...   (prints one JSON object per file)
package main

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/stellar/go/processors/token_transfer"
	"github.com/stellar/go/xdr"
)

var zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}

// readLedgers returns the raw LedgerCloseMeta XDR of every ledger in a fixture file
// (galexie batch, framed stream, or base64 lines).
func readLedgers(path string) ([][]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(data, zstdMagic) {
		var out [][]byte
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(make([]byte, 1<<20), 1<<26)
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if line == "" {
				continue
			}
			raw, err := base64.StdEncoding.DecodeString(line)
			if err != nil {
				return nil, err
			}
			out = append(out, raw)
		}
		return out, sc.Err()
	}
	dec, err := zstd.NewReader(nil)
	if err != nil {
		return nil, err
	}
	raw, err := dec.DecodeAll(data, nil)
	if err != nil {
		return nil, err
	}
	if binary.BigEndian.Uint32(raw)&0x80000000 != 0 { // framed stream
		var out [][]byte
		for pos := 0; pos < len(raw); {
			n := int(binary.BigEndian.Uint32(raw[pos:]) &^ 0x80000000)
			out = append(out, raw[pos+4:pos+4+n])
			pos += 4 + n
		}
		return out, nil
	}
	var batch xdr.LedgerCloseMetaBatch
	if err := batch.UnmarshalBinary(raw); err != nil {
		return nil, err
	}
	var out [][]byte
	for _, lcm := range batch.LedgerCloseMetas {
		b, err := lcm.MarshalBinary()
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

type result struct {
	File         string  `json:"file"`
	Ledgers      int     `json:"ledgers"`
	Bytes        int     `json:"bytes"`
	DecodePerSec float64 `json:"decode_ledgers_per_s"`
	TTPPerSec    float64 `json:"decode_ttp_ledgers_per_s"`
	Events       int     `json:"events"`
	Error        string  `json:"error,omitempty"`
	GoVersion    string  `json:"go"`
	MaxProcs     int     `json:"gomaxprocs"`
}

func best(repeat int, fn func() error) (time.Duration, error) {
	bestTime := time.Duration(1<<63 - 1)
	for i := 0; i < repeat; i++ {
		start := time.Now()
		if err := fn(); err != nil {
			return 0, err
		}
		if d := time.Since(start); d < bestTime {
			bestTime = d
		}
	}
	return bestTime, nil
}

func run(passphrase, path string, repeat int) result {
	res := result{File: path, GoVersion: runtime.Version(), MaxProcs: runtime.GOMAXPROCS(0)}
	ledgers, err := readLedgers(path)
	if err != nil {
		res.Error = err.Error()
		return res
	}
	res.Ledgers = len(ledgers)
	for _, l := range ledgers {
		res.Bytes += len(l)
	}
	n := float64(len(ledgers))
	d, err := best(repeat, func() error {
		for _, raw := range ledgers {
			var lcm xdr.LedgerCloseMeta
			if err := lcm.UnmarshalBinary(raw); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		res.Error = "decode: " + err.Error()
		return res
	}
	res.DecodePerSec = n / d.Seconds()
	proc := token_transfer.NewEventsProcessor(passphrase)
	d, err = best(repeat, func() error {
		res.Events = 0
		for _, raw := range ledgers {
			var lcm xdr.LedgerCloseMeta
			if err := lcm.UnmarshalBinary(raw); err != nil {
				return err
			}
			events, err := proc.EventsFromLedger(lcm)
			if err != nil {
				return err
			}
			res.Events += len(events)
		}
		return nil
	})
	if err != nil {
		res.Error = "token_transfer: " + err.Error()
		return res
	}
	res.TTPPerSec = n / d.Seconds()
	return res
}

func main() {
	repeat := flag.Int("repeat", 3, "timed repeats per measurement (best is kept)")
	flag.Parse()
	enc := json.NewEncoder(os.Stdout)
	for _, arg := range flag.Args() {
		passphrase, path, ok := strings.Cut(arg, "=")
		if !ok {
			fmt.Fprintf(os.Stderr, "want PASSPHRASE=FILE, got %q\n", arg)
			os.Exit(2)
		}
		if err := enc.Encode(run(passphrase, path, *repeat)); err != nil {
			os.Exit(1)
		}
	}
}
