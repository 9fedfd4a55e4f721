package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// Data objects the host may write with PUT DATA, with their maximum length.
var writable = map[uint16]int{
	0x5B: 39, 0x5E: 254, 0x5F2D: 8, 0x5F35: 1, 0x5F50: 254, 0xC4: 1,
	0xC7: 20, 0xC8: 20, 0xC9: 20, 0xCA: 20, 0xCB: 20, 0xCC: 20,
	0xCE: 4, 0xCF: 4, 0xD0: 4,
}

// Per key slot: CRT tag, attribute tag, fingerprint tag, time tag.
var slots = [3]struct{ crt, attr, fpr, time uint16 }{
	{0xB6, 0xC1, 0xC7, 0xCE},
	{0xB8, 0xC2, 0xC8, 0xCF},
	{0xA4, 0xC3, 0xC9, 0xD0},
}

func key(tag uint16) string { return fmt.Sprintf("%X", tag) }

func (c *card) object(tag uint16) []byte { return c.st.Objects[key(tag)] }

// tlv encodes one BER-TLV with a 1- or 2-byte tag.
func tlv(tag uint16, value []byte) []byte {
	var out []byte
	if tag > 0xFF {
		out = append(out, byte(tag>>8))
	}
	out = append(out, byte(tag))
	switch n := len(value); {
	case n < 0x80:
		out = append(out, byte(n))
	case n < 0x100:
		out = append(out, 0x81, byte(n))
	default:
		out = append(out, 0x82, byte(n>>8), byte(n))
	}
	return append(out, value...)
}

func (c *card) aidValue() []byte {
	v := append([]byte{}, aid...)
	v = append(v, 0x03, 0x04, 0xFF, 0xFE)
	v = binary.BigEndian.AppendUint32(v, c.st.Serial)
	return append(v, 0x00, 0x00)
}

// extendedCapabilities: key import, PW status changeable, algorithm
// attributes changeable; maximum certificate and special DO lengths.
func extendedCapabilities() []byte {
	return []byte{0x34, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0xFF, 0x00, 0x00}
}

func (c *card) pwStatus() []byte {
	first := byte(0x01)
	if v := c.object(0xC4); len(v) == 1 {
		first = v[0]
	}
	t := c.st.Tries
	return []byte{first, 0x7F, 0x7F, 0x7F, byte(t[0]), byte(t[1]), byte(t[2])}
}

// joined concatenates three data objects, each padded to n bytes.
func (c *card) joined(tags [3]uint16, n int) []byte {
	var out []byte
	for _, t := range tags {
		v := make([]byte, n)
		copy(v, c.object(t))
		out = append(out, v...)
	}
	return out
}

func (c *card) fingerprints() []byte {
	return c.joined([3]uint16{0xC7, 0xC8, 0xC9}, 20)
}

func (c *card) caFingerprints() []byte {
	return c.joined([3]uint16{0xCA, 0xCB, 0xCC}, 20)
}

func (c *card) times() []byte {
	return c.joined([3]uint16{0xCE, 0xCF, 0xD0}, 4)
}

func (c *card) extendedLengthInfo() []byte {
	return []byte{0x02, 0x02, 0x08, 0x00, 0x02, 0x02, 0x08, 0x00}
}

func (c *card) applicationData() []byte {
	var disc []byte
	disc = append(disc, tlv(0xC0, extendedCapabilities())...)
	for i := range c.st.Keys {
		disc = append(disc, tlv(slots[i].attr, c.st.Keys[i].Attr)...)
	}
	disc = append(disc, tlv(0xC4, c.pwStatus())...)
	disc = append(disc, tlv(0xC5, c.fingerprints())...)
	disc = append(disc, tlv(0xC6, c.caFingerprints())...)
	disc = append(disc, tlv(0xCD, c.times())...)
	var out []byte
	out = append(out, tlv(0x4F, c.aidValue())...)
	out = append(out, tlv(0x5F52, c.historical())...)
	if c.extended {
		out = append(out, tlv(0x7F66, c.extendedLengthInfo())...)
	}
	return append(out, tlv(0x73, disc)...)
}

func (c *card) cardholder() []byte {
	var out []byte
	out = append(out, tlv(0x5B, c.object(0x5B))...)
	out = append(out, tlv(0x5F2D, c.object(0x5F2D))...)
	sex := c.object(0x5F35)
	if len(sex) == 0 {
		sex = []byte{'9'}
	}
	return append(out, tlv(0x5F35, sex)...)
}

func (c *card) securityTemplate() []byte {
	counter := make([]byte, 3)
	copy(counter, c.object(0x93))
	return tlv(0x93, counter)
}

func (c *card) getData(cmd command) ([]byte, int) {
	tag := uint16(cmd.p1)<<8 | uint16(cmd.p2)
	switch tag {
	case 0x4F:
		return c.aidValue(), swOK
	case 0x5F52:
		return c.historical(), swOK
	case 0x6E:
		return c.applicationData(), swOK
	case 0x65:
		return c.cardholder(), swOK
	case 0x7A:
		return c.securityTemplate(), swOK
	case 0xC4:
		return c.pwStatus(), swOK
	case 0xC5:
		return c.fingerprints(), swOK
	case 0xCD:
		return c.times(), swOK
	case 0x7F66:
		if c.extended {
			return c.extendedLengthInfo(), swOK
		}
	case 0x5E, 0x5F50:
		return c.object(tag), swOK
	}
	return nil, swDataNotFound
}

func (c *card) putData(cmd command) ([]byte, int) {
	if !c.pw3 {
		return nil, swSecurity
	}
	tag := uint16(cmd.p1)<<8 | uint16(cmd.p2)
	for i, s := range slots {
		if tag == s.attr {
			return c.setAttr(i, cmd.data)
		}
	}
	max, ok := writable[tag]
	if !ok {
		return nil, swDataNotFound
	}
	if len(cmd.data) > max {
		return nil, swWrongLength
	}
	c.st.Objects[key(tag)] = bytes.Clone(cmd.data)
	c.save()
	return nil, swOK
}

// setAttr changes a slot's algorithm; as on real cards that deletes the key.
func (c *card) setAttr(i int, attr []byte) ([]byte, int) {
	if _, err := algorithmOf(attr); err != nil {
		return nil, swWrongData
	}
	c.st.Keys[i] = slot{Attr: bytes.Clone(attr)}
	delete(c.st.Objects, key(slots[i].fpr))
	delete(c.st.Objects, key(slots[i].time))
	c.save()
	return nil, swOK
}

// slotOf finds the key slot named by a control reference template.
func slotOf(crt []byte) (int, bool) {
	if len(crt) < 2 {
		return 0, false
	}
	for i, s := range slots {
		if uint16(crt[0]) == s.crt {
			return i, true
		}
	}
	return 0, false
}

func (c *card) generate(cmd command) ([]byte, int) {
	i, ok := slotOf(cmd.data)
	if !ok {
		return nil, swWrongData
	}
	k := &c.st.Keys[i]
	switch cmd.p1 {
	case 0x80:
		if !c.pw3 {
			return nil, swSecurity
		}
		priv, err := generateKey(k.Attr)
		if err != nil {
			return nil, swNoPreciseError
		}
		k.Private = priv
		delete(c.st.Objects, key(slots[i].fpr))
		delete(c.st.Objects, key(slots[i].time))
		c.save()
	case 0x81:
		if k.Private == nil {
			return nil, swDataNotFound
		}
	default:
		return nil, swWrongP1P2
	}
	pub, err := publicTemplate(k.Attr, k.Private)
	if err != nil {
		return nil, swNoPreciseError
	}
	return tlv(0x7F49, pub), swOK
}

func (c *card) pso(cmd command) ([]byte, int) {
	switch {
	case cmd.p1 == 0x9E && cmd.p2 == 0x9A:
		return c.sign(0, cmd.data)
	case cmd.p1 == 0x80 && cmd.p2 == 0x86:
		return c.decipher(cmd.data)
	}
	return nil, swWrongP1P2
}

func (c *card) sign(i int, data []byte) ([]byte, int) {
	if i == 0 && !c.pw1CDS || i == 2 && !c.pw1Other {
		return nil, swSecurity
	}
	k := c.st.Keys[i]
	if k.Private == nil {
		return nil, swDataNotFound
	}
	sig, err := signWith(k.Attr, k.Private, data)
	if err != nil {
		return nil, swWrongData
	}
	if i == 0 {
		if v := c.object(0xC4); len(v) == 1 && v[0] == 0 {
			c.pw1CDS = false
		}
		c.countSignature()
	}
	return sig, swOK
}

func (c *card) countSignature() {
	counter := make([]byte, 4)
	copy(counter[1:], c.object(0x93))
	n := binary.BigEndian.Uint32(counter) + 1
	c.st.Objects[key(0x93)] = binary.BigEndian.AppendUint32(nil, n)[1:]
	c.save()
}

func (c *card) internalAuthenticate(cmd command) ([]byte, int) {
	return c.sign(2, cmd.data)
}

func (c *card) decipher(data []byte) ([]byte, int) {
	if !c.pw1Other {
		return nil, swSecurity
	}
	k := c.st.Keys[1]
	if k.Private == nil {
		return nil, swDataNotFound
	}
	out, err := decipherWith(k.Attr, k.Private, data)
	if err != nil {
		return nil, swWrongData
	}
	return out, swOK
}
