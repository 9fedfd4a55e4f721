package main

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
)

// Status words.
const (
	swOK             = 0x9000
	swWrongLength    = 0x6700
	swSecurity       = 0x6982
	swAuthBlocked    = 0x6983
	swConditions     = 0x6985
	swWrongData      = 0x6A80
	swNotFound       = 0x6A82
	swDataNotFound   = 0x6A88
	swWrongP1P2      = 0x6B00
	swInsNotSupport  = 0x6D00
	swClaNotSupport  = 0x6E00
	swNoPreciseError = 0x6F00
)

// aid is the OpenPGP application's registered identifier.
var aid = []byte{0xD2, 0x76, 0x00, 0x01, 0x24, 0x01}

// state is what the card keeps across power cycles.
type state struct {
	Serial  uint32
	PW1     string
	PW3     string
	Tries   [3]int            // PW1, RC, PW3 retries left
	Objects map[string][]byte // data objects by hex tag
	Keys    [3]slot           // signature, decryption, authentication
	path    string
}

// slot is one key of the card.
type slot struct {
	Attr    []byte // algorithm attributes (C1, C2, C3)
	Private []byte // private key, see keys.go; nil when empty
}

// card is the state plus what a power cycle forgets.
type card struct {
	st       *state
	extended bool
	noApp    bool

	selected bool
	pw1CDS   bool // PW1 verified for signing (81)
	pw1Other bool // PW1 verified for decryption (82)
	pw3      bool
	pending  []byte // reply data waiting for GET RESPONSE
	chain    []byte // command data collected by command chaining
}

// Default algorithm attributes: RSA 2048 with e of 32 bits, standard format.
var rsa2048Attr = []byte{0x01, 0x08, 0x00, 0x00, 0x20, 0x00}

func loadCard(path string, serial uint32) (*card, error) {
	st := &state{
		Serial:  serial,
		PW1:     "123456",
		PW3:     "12345678",
		Tries:   [3]int{3, 0, 3},
		Objects: map[string][]byte{},
	}
	for i := range st.Keys {
		st.Keys[i].Attr = rsa2048Attr
	}
	if path != "" {
		data, err := os.ReadFile(path)
		switch {
		case errors.Is(err, os.ErrNotExist):
		case err != nil:
			return nil, fmt.Errorf("read card state: %w", err)
		default:
			if err := json.Unmarshal(data, st); err != nil {
				return nil, fmt.Errorf("parse card state %s: %w", path, err)
			}
		}
	}
	st.path = path
	return &card{st: st}, nil
}

// save writes the state file, if there is one.
func (c *card) save() {
	if c.st.path == "" {
		return
	}
	data, err := json.Marshal(c.st)
	if err == nil {
		err = os.WriteFile(c.st.path, data, 0o600)
	}
	if err != nil {
		slog.Error("save card state", "err", err)
	}
}

// frame answers one vpcd frame: a 1-byte control code or an APDU.
func (c *card) frame(p []byte) []byte {
	if len(p) == 1 {
		switch p[0] {
		case 0x00, 0x01, 0x02: // power off, power on, reset
			c.reset()
			return nil
		case 0x04:
			return c.atr()
		}
		return nil
	}
	return c.apdu(p)
}

func (c *card) reset() {
	*c = card{st: c.st, extended: c.extended, noApp: c.noApp}
}

// atr is the answer to reset: T=1, with the OpenPGP card's historical bytes.
func (c *card) atr() []byte {
	atr := []byte{0x3B, 0xDA, 0x18, 0xFF, 0x81, 0xB1, 0xFE, 0x75, 0x1F, 0x03}
	atr = append(atr, c.historical()...)
	var tck byte
	for _, b := range atr[1:] {
		tck ^= b
	}
	return append(atr, tck)
}

// historical holds the card capabilities: command chaining, and extended
// length when asked for.
func (c *card) historical() []byte {
	caps := byte(0x80)
	if c.extended {
		caps = 0xC0
	}
	return []byte{0x00, 0x31, 0xF5, 0x73, 0xC0, 0x01, caps, 0x00, 0x90, 0x00}
}

// command is a parsed command APDU.
type command struct {
	cla, ins, p1, p2 byte
	data             []byte
	le               int // 0 when absent; 256 or 65536 for "all"
}

func parseAPDU(p []byte) (command, bool) {
	if len(p) < 4 {
		return command{}, false
	}
	cmd := command{cla: p[0], ins: p[1], p1: p[2], p2: p[3]}
	body := p[4:]
	switch {
	case len(body) == 0:
	case len(body) == 1:
		cmd.le = int(body[0])
		if cmd.le == 0 {
			cmd.le = 256
		}
	case body[0] != 0 || len(body) == 1+int(body[0]) || len(body) == 2+int(body[0]):
		return parseShort(cmd, body)
	default:
		return parseExtended(cmd, body)
	}
	return cmd, true
}

func parseShort(cmd command, body []byte) (command, bool) {
	n := int(body[0])
	switch len(body) {
	case 1 + n:
		cmd.data = body[1:]
	case 2 + n:
		cmd.data = body[1 : 1+n]
		cmd.le = int(body[1+n])
		if cmd.le == 0 {
			cmd.le = 256
		}
	default:
		return cmd, false
	}
	return cmd, true
}

func parseExtended(cmd command, body []byte) (command, bool) {
	if len(body) == 3 { // Le only
		cmd.le = int(binary.BigEndian.Uint16(body[1:]))
		if cmd.le == 0 {
			cmd.le = 65536
		}
		return cmd, true
	}
	if len(body) < 3 {
		return cmd, false
	}
	n := int(binary.BigEndian.Uint16(body[1:3]))
	rest := body[3:]
	switch len(rest) {
	case n:
		cmd.data = rest
	case n + 2:
		cmd.data = rest[:n]
		cmd.le = int(binary.BigEndian.Uint16(rest[n:]))
		if cmd.le == 0 {
			cmd.le = 65536
		}
	default:
		return cmd, false
	}
	return cmd, true
}

// apdu answers one command APDU with data||SW.
func (c *card) apdu(p []byte) []byte {
	cmd, ok := parseAPDU(p)
	if !ok {
		return sw(swWrongLength)
	}
	if cmd.ins == 0xC0 { // GET RESPONSE
		return c.respond(c.pending, swOK, cmd.le)
	}
	c.pending = nil
	if cmd.cla&0x10 != 0 { // command chaining: collect and acknowledge
		c.chain = append(c.chain, cmd.data...)
		return sw(swOK)
	}
	if c.chain != nil {
		cmd.data = append(c.chain, cmd.data...)
		c.chain = nil
	}
	data, status := c.dispatch(cmd)
	slog.Debug("apdu", "cmd", hex.EncodeToString(p), "sw", fmt.Sprintf("%04X", status), "len", len(data))
	return c.respond(data, status, cmd.le)
}

// respond sends what fits in Le and keeps the rest for GET RESPONSE.
func (c *card) respond(data []byte, status int, le int) []byte {
	max := 256
	if c.extended && le > 256 {
		max = le
	}
	if le > 0 && le < max {
		max = le
	}
	if len(data) > max {
		c.pending = data[max:]
		next := len(c.pending)
		if next > 255 {
			next = 0
		}
		return append(bytes.Clone(data[:max]), 0x61, byte(next))
	}
	c.pending = nil
	return append(bytes.Clone(data), byte(status>>8), byte(status))
}

func sw(status int) []byte { return []byte{byte(status >> 8), byte(status)} }

func (c *card) dispatch(cmd command) ([]byte, int) {
	if cmd.cla&0x80 != 0 {
		return nil, swClaNotSupport
	}
	if cmd.ins == 0xA4 {
		return c.selectApp(cmd)
	}
	if !c.selected {
		return nil, swConditions
	}
	switch cmd.ins {
	case 0xCA:
		return c.getData(cmd)
	case 0x20:
		return c.verify(cmd)
	case 0xDA:
		return c.putData(cmd)
	case 0x47:
		return c.generate(cmd)
	case 0x2A:
		return c.pso(cmd)
	case 0x88:
		return c.internalAuthenticate(cmd)
	}
	return nil, swInsNotSupport
}

func (c *card) selectApp(cmd command) ([]byte, int) {
	if cmd.p1 != 0x04 || c.noApp || !bytes.HasPrefix(cmd.data, aid) {
		c.selected = false
		return nil, swNotFound
	}
	c.selected = true
	c.pw1CDS, c.pw1Other, c.pw3 = false, false, false
	return nil, swOK
}

func (c *card) verify(cmd command) ([]byte, int) {
	var pin string
	var try *int
	switch cmd.p2 {
	case 0x81, 0x82:
		pin, try = c.st.PW1, &c.st.Tries[0]
	case 0x83:
		pin, try = c.st.PW3, &c.st.Tries[2]
	default:
		return nil, swWrongP1P2
	}
	if len(cmd.data) == 0 { // status query
		if c.verified(cmd.p2) {
			return nil, swOK
		}
		return nil, 0x63C0 | *try
	}
	if *try == 0 {
		return nil, swAuthBlocked
	}
	if string(cmd.data) != pin {
		*try--
		c.save()
		return nil, 0x63C0 | *try
	}
	*try = 3
	switch cmd.p2 {
	case 0x81:
		c.pw1CDS = true
	case 0x82:
		c.pw1Other = true
	case 0x83:
		c.pw3 = true
	}
	return nil, swOK
}

func (c *card) verified(p2 byte) bool {
	switch p2 {
	case 0x81:
		return c.pw1CDS
	case 0x82:
		return c.pw1Other
	}
	return c.pw3
}
