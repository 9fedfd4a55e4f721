//go:build linux && cgo

package cardcrypt

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"errors"
	"io"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"example.com/share/internal/cardtest"
)

var testClient = netip.MustParseAddr("192.0.2.1")

func signBytes(t *testing.T, s *Signer, version string, data []byte) []byte {
	t.Helper()
	sig, err := s.Sign(context.Background(), testClient, version, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	return sig
}

// TestSignerThroughPCSC has GnuPG create keys on the virtual card, signs
// through PC/SC, and has GnuPG (and Sequoia where it can) verify the
// signatures with the certificate the card certified, imported into a
// fresh keyring.
func TestSignerThroughPCSC(t *testing.T) {
	for _, tc := range []struct {
		algo  string
		flags []string
		armor bool
		sq    bool
	}{
		{cardtest.RSA, nil, false, true},
		{cardtest.RSA3072, []string{"-extended"}, true, true},
		{cardtest.RSA4096, nil, false, true},
		{cardtest.Cv25519, nil, true, true},
		{cardtest.NISTP256, nil, false, true},
		{cardtest.NISTP384, nil, false, true},
	} {
		t.Run(tc.algo+strings.Join(tc.flags, ""), func(t *testing.T) {
			_, owner := cardtest.StartWithKeys(t, tc.algo, "owner@example.org", tc.flags...)
			want := owner.Fingerprint("owner@example.org")

			s, err := OpenSigner(SignerOptions{PIN: []byte(cardtest.UserPIN), Armor: tc.armor, UserID: "Card Owner <owner@example.org>"})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if s.Fingerprint() != want {
				t.Fatalf("signer key %s, GnuPG made %s", s.Fingerprint(), want)
			}
			other := cardtest.NewGnuPG(t, true)
			other.Run(s.Certificate(), "--import")
			listing := string(other.Run(nil, "--with-colons", "--list-keys", want))
			if !strings.Contains(listing, "Card Owner <owner@example.org>") || !strings.Contains(listing, "\nsub:") {
				t.Errorf("imported certificate lacks the user ID or subkey:\n%s", listing)
			}
			data := make([]byte, 70_000)
			rand.Read(data)
			sig := signBytes(t, s, "v1", data)
			if tc.armor != bytes.HasPrefix(sig, []byte("-----BEGIN PGP SIGNATURE-----")) {
				t.Errorf("armor %v, signature starts %q", tc.armor, sig[:10])
			}
			fpr, err := other.VerifyDetached(sig, data)
			if err != nil || fpr != want {
				t.Fatalf("gpg --verify: %v (key %s)", err, fpr)
			}
			if tc.sq {
				if err := cardtest.SqVerify(t, s.Certificate(), sig, data); err != nil {
					t.Error(err)
				}
			}
			data[0] ^= 1
			if _, err := other.VerifyDetached(sig, data); err == nil {
				t.Error("gpg verified a signature over changed bytes")
			}
		})
	}
}

// TestSignerCacheAndCounters: a version is signed once; content-keyed
// signatures follow the bytes; the card's counters show the signatures.
// Without --uid the certificate's user ID is the cardholder name.
func TestSignerCacheAndCounters(t *testing.T) {
	_, owner := cardtest.StartWithKeys(t, cardtest.Cv25519, "owner@example.org")
	owner.SetCardholder("Holder", "Ada Marie")
	s, err := OpenSigner(SignerOptions{PIN: []byte(cardtest.UserPIN)})
	if err != nil {
		t.Fatal(err)
	}
	other := cardtest.NewGnuPG(t, true)
	other.Run(s.Certificate(), "--import")
	if uids := string(other.Run(nil, "--with-colons", "--list-keys", s.Fingerprint())); !strings.Contains(uids, ":Ada Marie Holder:") {
		t.Errorf("certificate without --uid lacks the cardholder name:\n%s", uids)
	}
	start := s.Signatures() // the certificate's self-signatures
	a := signBytes(t, s, "v1", []byte("one"))
	b := signBytes(t, s, "v1", []byte("ignored: the version is cached"))
	c := signBytes(t, s, "", []byte("two"))
	d := signBytes(t, s, "", []byte("two"))
	e := signBytes(t, s, "", []byte("three"))
	if !bytes.Equal(a, b) || !bytes.Equal(c, d) || bytes.Equal(c, e) {
		t.Error("cache gave wrong signatures")
	}
	if n := s.Signatures() - start; n != 3 {
		t.Errorf("card made %d signatures, want 3", n)
	}
	// Four requests for one new version while the first still hashes:
	// one card operation, the same signature for all.
	sigs := make([][]byte, 4)
	var wg sync.WaitGroup
	for i := range sigs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sigs[i], _ = s.Sign(context.Background(), testClient, "v2", func(w io.Writer) error {
				time.Sleep(300 * time.Millisecond) // the others arrive meanwhile
				_, err := w.Write([]byte("four at once"))
				return err
			})
		}()
	}
	wg.Wait()
	for _, sig := range sigs[1:] {
		if len(sig) == 0 || !bytes.Equal(sig, sigs[0]) {
			t.Fatal("requests for one version got different signatures")
		}
	}
	if n := s.Signatures() - start; n != 4 {
		t.Errorf("four requests for one version made %d card signatures, want 1", n-3)
	}
	s.Close()
	st, err := ReadCardStatus("")
	if err != nil {
		t.Fatal(err)
	}
	// GnuPG's own self-signatures count too; share's five come last.
	if st.Counters.Signatures < 5 || st.Counters.PINTries != [3]int{3, 0, 3} || st.Counters.ForcedPIN {
		t.Errorf("counters %+v", st.Counters)
	}
	for _, want := range []string{"Signature counter", "PIN retry counter : 3 0 3", "not forced"} {
		if !strings.Contains(st.String(), want) {
			t.Errorf("status lacks %q:\n%s", want, st)
		}
	}
}

// TestSignerPINErrors: a wrong PIN says how many tries are left; with
// one try left, or a card that wants the PIN per signature, share does
// not try at all.
func TestSignerPINErrors(t *testing.T) {
	stack, _ := cardtest.StartWithKeys(t, cardtest.RSA, "owner@example.org")

	_, err := OpenSigner(SignerOptions{PIN: []byte("999999")})
	if !errors.Is(err, ErrWrongPIN) || !strings.Contains(err.Error(), "2 tries left") {
		t.Fatalf("wrong PIN: %v", err)
	}
	stack.SetPIN(false, 1)
	_, err = OpenSigner(SignerOptions{PIN: []byte(cardtest.UserPIN)})
	if !errors.Is(err, ErrFewTries) || !strings.Contains(err.Error(), "1 tries left") {
		t.Fatalf("one try left: %v", err)
	}
	expectPINTries(t, 1)
	stack.SetPIN(true, 3)
	_, err = OpenSigner(SignerOptions{PIN: []byte(cardtest.UserPIN)})
	if !errors.Is(err, ErrForcedPIN) || !strings.Contains(err.Error(), "forcesig") {
		t.Fatalf("forced PIN: %v", err)
	}
	expectPINTries(t, 3)
}

// expectPINTries checks PW1's retry counter on the card.
func expectPINTries(t *testing.T, want int) {
	t.Helper()
	st, err := ReadCardStatus("")
	if err != nil {
		t.Fatal(err)
	}
	if st.Counters.PINTries[0] != want {
		t.Errorf("PW1 has %d tries left, want %d: share spent a try it should not have", st.Counters.PINTries[0], want)
	}
}

// TestVirtualCardPINRules: the virtual card the tests rely on signs only
// with PW1 verified in mode 81 (not 82), counts wrong PINs down, and
// with the PIN forced per signature signs once per VERIFY.
func TestVirtualCardPINRules(t *testing.T) {
	stack, _ := cardtest.StartWithKeys(t, cardtest.Cv25519, "owner@example.org")
	pin := []byte(cardtest.UserPIN)
	withCard(t, func(ch *channel) {
		expectSW(t, "PSO:CDS without the PIN", psoCDS(ch), 0x6982)
		expectSW(t, "VERIFY 82", verify(ch, 0x82, pin), 0x9000)
		expectSW(t, "PSO:CDS after VERIFY 82", psoCDS(ch), 0x6982)
		expectSW(t, "VERIFY 81", verify(ch, 0x81, pin), 0x9000)
		expectSW(t, "first PSO:CDS", psoCDS(ch), 0x9000)
		expectSW(t, "second PSO:CDS", psoCDS(ch), 0x9000)
		expectSW(t, "wrong PIN", verify(ch, 0x81, []byte("999999")), 0x63C2)
		expectSW(t, "right PIN", verify(ch, 0x81, pin), 0x9000)
	})
	expectPINTries(t, 3)
	stack.SetPIN(true, 3)
	withCard(t, func(ch *channel) {
		expectSW(t, "VERIFY 81", verify(ch, 0x81, pin), 0x9000)
		expectSW(t, "first PSO:CDS", psoCDS(ch), 0x9000)
		expectSW(t, "PSO:CDS again, PIN forced", psoCDS(ch), 0x6982)
	})
}

// withCard runs f in one transaction with the card's OpenPGP application.
func withCard(t *testing.T, f func(ch *channel)) {
	t.Helper()
	sess, err := open("")
	if err != nil {
		t.Fatal(err)
	}
	defer sess.close()
	if err := sess.do(func(ch *channel) error { f(ch); return nil }); err != nil {
		t.Fatal(err)
	}
}

func verify(ch *channel, mode byte, pin []byte) error {
	_, err := ch.send(0x20, 0x00, mode, pin)
	return err
}

func psoCDS(ch *channel) error {
	_, err := ch.send(0x2A, 0x9E, 0x9A, make([]byte, 32))
	return err
}

// expectSW checks the status word a command got.
func expectSW(t *testing.T, what string, err error, want uint16) {
	t.Helper()
	got := uint16(0x9000)
	var se *StatusError
	if errors.As(err, &se) {
		got = se.SW
	} else if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if got != want {
		t.Errorf("%s: card answered %04X, want %04X", what, got, want)
	}
}

// TestSignerCardRemoved: without the card signatures fail with
// ErrSignUnavailable; once it is back they work again.
func TestSignerCardRemoved(t *testing.T) {
	stack, _ := cardtest.StartWithKeys(t, cardtest.Cv25519, "owner@example.org")
	s, err := OpenSigner(SignerOptions{PIN: []byte(cardtest.UserPIN)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	stack.Remove()
	_, err = s.Sign(context.Background(), testClient, "gone", func(w io.Writer) error { return nil })
	if !errors.Is(err, ErrSignUnavailable) {
		t.Fatalf("signing without the card: %v", err)
	}
	stack.Insert()
	waitReconnect(t, s)
}

// waitReconnect signs until the signer has reconnected (it retries at
// most every reconnectPause), for a bounded time.
func waitReconnect(t *testing.T, s *Signer) {
	t.Helper()
	for i := range 20 {
		_, err := s.Sign(context.Background(), testClient, "", func(w io.Writer) error {
			_, err := w.Write([]byte{byte(i)})
			return err
		})
		if err == nil {
			return
		}
		if !errors.Is(err, ErrSignUnavailable) {
			t.Fatal(err)
		}
		sleep(context.Background(), reconnectPause/4)
	}
	t.Fatal("signer did not reconnect to the card")
}

// TestSignQueue: past the per-client share and the whole queue, Sign
// answers ErrSignBusy at once, without reading the content.
func TestSignQueue(t *testing.T) {
	q := newSignQueue(3, 2)
	a, b, c := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("192.0.2.3")
	steps := []struct {
		client netip.Addr
		want   bool
	}{{a, true}, {a, true}, {a, false}, {b, true}, {c, false}}
	for i, st := range steps {
		if got := q.enter(st.client); got != st.want {
			t.Fatalf("step %d: enter(%v) = %v", i, st.client, got)
		}
	}
	q.leave(a)
	if !q.enter(c) {
		t.Error("a place given back was not reusable")
	}

	s := &Signer{queue: newSignQueue(2, 1), cache: newSigCache(4), key: &signKey{hash: crypto.SHA256}}
	var wg sync.WaitGroup
	release := make(chan struct{})
	entered := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.Sign(context.Background(), a, "held", func(io.Writer) error {
			close(entered)
			<-release
			return errors.New("stop")
		})
	}()
	<-entered
	_, err := s.Sign(context.Background(), a, "second", func(io.Writer) error {
		t.Error("content read past the client's share")
		return nil
	})
	if !errors.Is(err, ErrSignBusy) {
		t.Errorf("second request of one client: %v, want ErrSignBusy", err)
	}
	close(release)
	wg.Wait()
}
