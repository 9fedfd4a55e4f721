// Command vcard is the virtual OpenPGP card the tests use. It speaks the
// vsmartcard vpcd socket protocol: it connects to pcscd's vpcd driver,
// which shows it as a card inserted in the "Virtual PCD" reader, and answers
// APDUs like an OpenPGP card 3.4 would (a subset: SELECT, GET DATA, GET
// RESPONSE, VERIFY, GENERATE ASYMMETRIC KEY PAIR, PUT DATA, PSO:CDS,
// PSO:DECIPHER) with RSA 2048-4096, Curve25519 (Ed25519, X25519) and NIST P-256 and
// P-384 keys; PSO:CDS needs PW1 verified in mode 81, and only once when the
// PW status byte (C4) forces the PIN per signature.
//
// Closing the connection is removing the card. With -state the card keeps
// its keys and data objects in a file, so a restarted process is the same
// card inserted again.
package main

import (
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:35963", "vpcd address of pcscd")
	state := flag.String("state", "", "file that keeps the card's state across runs")
	extended := flag.Bool("extended", false, "announce extended length APDUs instead of command chaining")
	serial := flag.Uint("serial", 0x12345678, "card serial number")
	notOpenPGP := flag.Bool("not-openpgp", false, "act as a card without the OpenPGP application")
	flag.Parse()

	card, err := loadCard(*state, uint32(*serial))
	if err != nil {
		fail(err)
	}
	card.extended = *extended
	card.noApp = *notOpenPGP
	if err := run(*addr, card); err != nil {
		fail(err)
	}
}

func fail(err error) {
	slog.Error("vcard", "err", err)
	os.Exit(1)
}

// run connects to vpcd, retrying while pcscd starts, and serves frames
// until the connection closes.
func run(addr string, card *card) error {
	conn, err := dial(addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	slog.Info("vcard inserted", "addr", addr)
	for {
		frame, err := readFrame(conn)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read from vpcd: %w", err)
		}
		reply := card.frame(frame)
		if reply == nil {
			continue
		}
		if err := writeFrame(conn, reply); err != nil {
			return fmt.Errorf("write to vpcd: %w", err)
		}
	}
}

func dial(addr string) (net.Conn, error) {
	var err error
	for range 100 {
		var conn net.Conn
		conn, err = net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			return conn, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil, fmt.Errorf("connect to vpcd at %s: %w", addr, err)
}

func readFrame(r io.Reader) ([]byte, error) {
	var n [2]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return nil, err
	}
	buf := make([]byte, binary.BigEndian.Uint16(n[:]))
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, err
	}
	return buf, nil
}

func writeFrame(w io.Writer, p []byte) error {
	buf := binary.BigEndian.AppendUint16(nil, uint16(len(p)))
	_, err := w.Write(append(buf, p...))
	return err
}
