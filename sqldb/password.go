package sqldb

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Argon2id parameters of new password hashes. RFC 9106 (Argon2, section 4 "Parameter Choice")
// recommends argon2id with t=1, p=4, m=2 GiB first, and, where that much memory is too much,
// t=3, p=4, m=64 MiB (the "second recommended option"), a 128-bit salt and a 256-bit tag. We
// keep its memory and passes (64 MiB, t=3) and use 2 lanes, which a small server can run in
// parallel; about 0.1 s per hash here (docs/benchmarks.md). Stored hashes carry their own
// parameters, so these may be raised later without invalidating old hashes.
const (
	argonTime    = 3         // passes over memory (t)
	argonMemory  = 64 * 1024 // KiB (m = 64 MiB)
	argonThreads = 2         // lanes (p)
	argonSaltLen = 16        // bytes (128 bits)
	argonKeyLen  = 32        // bytes (256-bit tag)
)

// Limits on the parameters a stored hash may ask for, so that a corrupt or hostile row cannot
// make verification allocate without bound.
const (
	maxArgonMemory = 4 * 1024 * 1024 // KiB (4 GiB)
	maxArgonTime   = 100
)

var b64 = base64.RawStdEncoding

// hashPassword returns the argon2id hash of password in PHC string format:
// $argon2id$v=19$m=65536,t=3,p=2$<salt>$<hash>, salt and hash in unpadded standard base64.
func hashPassword(password string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// errBadHash says a stored password hash cannot be read.
var errBadHash = errors.New("password hash is not an argon2id PHC string")

// phc is a parsed argon2id PHC string.
type phc struct {
	memory  uint32
	time    uint32
	threads uint8
	salt    []byte
	key     []byte
}

// parsePHC reads $argon2id$v=19$m=M,t=T,p=P$salt$hash.
func parsePHC(s string) (phc, error) {
	var h phc
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return h, errBadHash
	}
	params := strings.Split(parts[3], ",")
	if len(params) != 3 {
		return h, errBadHash
	}
	vals := [3]uint64{}
	for i, name := range []string{"m=", "t=", "p="} {
		v, ok := strings.CutPrefix(params[i], name)
		if !ok {
			return h, errBadHash
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil || n == 0 {
			return h, errBadHash
		}
		vals[i] = n
	}
	if vals[0] > maxArgonMemory || vals[1] > maxArgonTime || vals[2] > 255 || vals[0] < 8*vals[2] {
		return h, errBadHash
	}
	h.memory, h.time, h.threads = uint32(vals[0]), uint32(vals[1]), uint8(vals[2])
	var err error
	if h.salt, err = b64.DecodeString(parts[4]); err != nil || len(h.salt) < 8 {
		return h, errBadHash
	}
	if h.key, err = b64.DecodeString(parts[5]); err != nil || len(h.key) < 16 || len(h.key) > 64 {
		return h, errBadHash
	}
	return h, nil
}

// checkPassword reports whether password matches the PHC hash, comparing in constant time.
func checkPassword(hash, password string) (bool, error) {
	h, err := parsePHC(hash)
	if err != nil {
		return false, err
	}
	key := argon2.IDKey([]byte(password), h.salt, h.time, h.memory, h.threads, uint32(len(h.key)))
	return subtle.ConstantTimeCompare(key, h.key) == 1, nil
}

// dummyHash is checked against when the user is unknown or disabled, so that a failed sign-in
// takes as long whatever its cause.
var dummyHash = func() string {
	h, err := hashPassword("clink: no such user")
	if err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return h
}()

// tokenEncoding writes secrets in lower-case base32 without padding: letters and digits only, so
// that a secret or its prefix never looks like a command-line flag.
var tokenEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// newTokenSecret returns a new secret of 256 random bits (52 characters).
func newTokenSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("token secret: %w", err)
	}
	return tokenEncoding.EncodeToString(b), nil
}

// secretDigest is the hex SHA-256 of a token secret, the only form in which it is stored.
func secretDigest(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}
