package cardcrypt

import (
	"errors"
	"fmt"
)

// transmitter sends one command APDU and returns the reply with its
// status word. *scard.Card is one; tests use recorded replies.
type transmitter interface {
	Transmit(cmd []byte) ([]byte, error)
}

// StatusError is a card's answer other than 9000.
type StatusError struct {
	Ins byte   // instruction that failed
	SW  uint16 // status word
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("card answered %04X to instruction %02X", e.SW, e.Ins)
}

// Status words the package looks at.
const (
	swOK           = 0x9000
	swFileNotFound = 0x6A82
	swDataNotFound = 0x6A88
)

// maxExchanges bounds GET RESPONSE loops and retries, so a confused card
// cannot keep us busy.
const maxExchanges = 256

// channel talks APDUs with one card: command chaining or extended length
// for long commands, GET RESPONSE and 6Cxx retries for long replies.
type channel struct {
	t        transmitter
	extended bool // the card takes extended Lc/Le
}

// send runs one command and returns the reply data after a 9000.
func (ch *channel) send(ins, p1, p2 byte, data []byte) ([]byte, error) {
	if ch.extended && len(data) > 255 {
		return ch.exchange(extendedAPDU(0x00, ins, p1, p2, data))
	}
	for len(data) > 255 {
		cmd := shortAPDU(0x10, ins, p1, p2, data[:255], false)
		if _, err := ch.exchange(cmd); err != nil {
			return nil, fmt.Errorf("command chaining: %w", err)
		}
		data = data[255:]
	}
	return ch.exchange(shortAPDU(0x00, ins, p1, p2, data, true))
}

// sendLong is send for commands whose reply may exceed 256 bytes: it
// asks for up to 65536 bytes at once when the card takes extended length.
func (ch *channel) sendLong(ins, p1, p2 byte, data []byte) ([]byte, error) {
	if ch.extended {
		return ch.exchange(extendedAPDU(0x00, ins, p1, p2, data))
	}
	return ch.send(ins, p1, p2, data)
}

// shortAPDU encodes a short command; withLe adds Le=00 (up to 256 bytes).
func shortAPDU(cla, ins, p1, p2 byte, data []byte, withLe bool) []byte {
	cmd := []byte{cla, ins, p1, p2}
	if len(data) > 0 {
		cmd = append(cmd, byte(len(data)))
		cmd = append(cmd, data...)
	}
	if withLe {
		cmd = append(cmd, 0x00)
	}
	return cmd
}

// extendedAPDU encodes an extended command with Le=0000 (up to 65536).
func extendedAPDU(cla, ins, p1, p2 byte, data []byte) []byte {
	cmd := []byte{cla, ins, p1, p2, 0x00}
	if len(data) > 0 {
		cmd = append(cmd, byte(len(data)>>8), byte(len(data)))
		cmd = append(cmd, data...)
	}
	return append(cmd, 0x00, 0x00)
}

// exchange transmits cmd and collects the whole reply.
func (ch *channel) exchange(cmd []byte) ([]byte, error) {
	var out []byte
	for range maxExchanges {
		reply, err := ch.t.Transmit(cmd)
		if err != nil {
			return nil, fmt.Errorf("transmit to card: %w", err)
		}
		if len(reply) < 2 {
			return nil, fmt.Errorf("card reply of %d bytes has no status word", len(reply))
		}
		data, sw1, sw2 := reply[:len(reply)-2], reply[len(reply)-2], reply[len(reply)-1]
		out = append(out, data...)
		switch sw1 {
		case 0x61: // more data: fetch it
			cmd = []byte{0x00, 0xC0, 0x00, 0x00, sw2}
		case 0x6C: // wrong Le: the card says which one to use
			cmd = withLe(cmd, sw2)
			out = out[:len(out)-len(data)]
		default:
			sw := uint16(sw1)<<8 | uint16(sw2)
			if sw != swOK {
				return nil, &StatusError{Ins: cmd[1], SW: sw}
			}
			return out, nil
		}
	}
	return nil, errors.New("card keeps asking for GET RESPONSE")
}

// withLe replaces the Le byte of a short command.
func withLe(cmd []byte, le byte) []byte {
	c := append([]byte{}, cmd...)
	switch {
	case len(c) == 4:
		return append(c, le)
	case len(c) == 5 || len(c) == 6+int(c[4]):
		c[len(c)-1] = le
		return c
	default: // Lc and data, no Le
		return append(c, le)
	}
}
