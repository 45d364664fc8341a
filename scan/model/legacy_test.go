package model

import (
	"bytes"
	"encoding/binary"
	"testing"
)

func le64(n uint64) string {
	b := make([]byte, 8)
	binary.LittleEndian.PutUint64(b, n)
	return string(b)
}

func evilPkl() []byte {
	return newPB(2).global("os", "system").str("id").op(0x85).reduce().stop()
}

// legacyFile assembles the legacy (non-tar) torch.save layout around main
// (whose persistent ids declare storage "0": FloatStorage, 6 elements).
func legacyFile(sysInfo, main, keys []byte, raw string) []byte {
	var b bytes.Buffer
	b.Write(newPB(2).op(0x8a, 10).raw(legacyTorchMagic).stop())
	b.Write(newPB(2).op('M', 0xe9, 0x03).stop())
	b.Write(sysInfo)
	b.Write(main)
	b.Write(keys)
	b.WriteString(raw)
	return b.Bytes()
}

func sysInfoPkl() []byte {
	return newPB(2).op('}').mark().str("little_endian").op(0x88).str("type_sizes").op('}').mark().str("int").int1(4).op('u').op('u').stop()
}

func keysPkl(keys ...string) []byte {
	p := newPB(2).op(']').mark()
	for _, k := range keys {
		p.str(k)
	}
	return p.op('e').stop()
}

func TestLegacyTorch(t *testing.T) {
	data := le64(6) + string(make([]byte, 24))
	check(t, []sample{
		{"benign", legacyFile(sysInfoPkl(), torchDataPkl(), keysPkl("0"), data), Safe, "", FormatPyTorchLeg},
		{"malicious sys_info", legacyFile(evilPkl(), torchDataPkl(), keysPkl("0"), data), Malicious, "dangerous-import", FormatPyTorchLeg},
		{"malicious main", legacyFile(sysInfoPkl(), evilPkl(), keysPkl("0"), data), Malicious, "dangerous-import", FormatPyTorchLeg},
		{"malicious keys", legacyFile(sysInfoPkl(), torchDataPkl(), evilPkl(), data), Malicious, "dangerous-import", FormatPyTorchLeg},
		{"wrong element count", legacyFile(sysInfoPkl(), torchDataPkl(), keysPkl("0"), le64(7)+string(make([]byte, 28))), Invalid, "legacy-storage-size", ""},
		{"truncated data", legacyFile(sysInfoPkl(), torchDataPkl(), keysPkl("0"), le64(6)+string(make([]byte, 23))), Error, "truncated", ""},
		{"truncated size", legacyFile(sysInfoPkl(), torchDataPkl(), keysPkl("0"), "\x06\x00"), Error, "truncated", ""},
		{"undeclared key", legacyFile(sysInfoPkl(), torchDataPkl(), keysPkl("0", "9"), data+data), Error, "legacy-storage-missing", ""},
		{"keys not a list", legacyFile(sysInfoPkl(), torchDataPkl(), newPB(2).str("0").stop(), data), Unknown, "legacy-storage-keys", ""},
		{"trailing pickle after storages", legacyFile(sysInfoPkl(), torchDataPkl(), keysPkl("0"), data+string(evilPkl())), Unknown, "trailing-data", ""},
	})
}

// tarStorages builds a `storages` member: count, per storage a record
// pickle + count + bytes, then the views pickle.
func tarStorages(recs []string, views []byte) string {
	var b bytes.Buffer
	b.Write(newPB(2).int1(byte(len(recs))).stop())
	for _, r := range recs {
		b.WriteString(r)
	}
	b.Write(views)
	return b.String()
}

func storageRec(key, mod, typ string, n int, es int) string {
	p := newPB(2).str(key).str("cpu").global(mod, typ).op(0x87).stop()
	return string(p) + le64(uint64(n)) + string(make([]byte, n*es))
}

func tensorsMember(recs ...string) string {
	return string(newPB(2).int1(byte(len(recs))).stop()) + stringsJoin(recs)
}

func stringsJoin(s []string) string {
	var b bytes.Buffer
	for _, x := range s {
		b.WriteString(x)
	}
	return b.String()
}

func tensorRec(key, storage, typ string, ndim int) string {
	p := newPB(2).str(key).str(storage).global("torch", typ).op(0x87).stop()
	rec := make([]byte, 8+16*ndim+8)
	binary.LittleEndian.PutUint32(rec, uint32(ndim))
	return string(p) + string(rec)
}

func TestLegacyTorchTar(t *testing.T) {
	emptyList := newPB(2).op(']').stop()
	goodStorages := tarStorages([]string{storageRec("0", "torch", "FloatStorage", 6, 4), storageRec("1", "torch", "LongStorage", 2, 8)}, emptyList)
	goodTensors := tensorsMember(tensorRec("t0", "0", "FloatTensor", 2), tensorRec("t1", "1", "LongTensor", 1))
	legacyTar := func(sys, pkl, storages, tensors string) []byte {
		return tarOf(t, [2]string{"sys_info", sys}, [2]string{"pickle", pkl}, [2]string{"storages", storages}, [2]string{"tensors", tensors})
	}
	good := func() (string, string, string, string) {
		return string(sysInfoPkl()), string(torchDataPkl()), goodStorages, goodTensors
	}
	s, p, st, te := good()
	evil := string(evilPkl())
	check(t, []sample{
		{"benign", legacyTar(s, p, st, te), Safe, "", FormatPyTorchTar},
		{"benign cuda", legacyTar(s, p, tarStorages([]string{storageRec("0", "torch.cuda", "HalfStorage", 3, 2)}, emptyList), te), Safe, "", FormatPyTorchTar},
		{"malicious pickle", legacyTar(s, evil, st, te), Malicious, "dangerous-import", FormatPyTorchTar},
		{"malicious sys_info", legacyTar(evil, p, st, te), Malicious, "dangerous-import", FormatPyTorchTar},
		{"malicious storage record", legacyTar(s, p, tarStorages([]string{storageRec("0", "torch", "FloatStorage", 6, 4), evil}, emptyList), te), Malicious, "dangerous-import", ""},
		{"malicious storage count", legacyTar(s, p, evil, te), Malicious, "dangerous-import", ""},
		{"malicious views", legacyTar(s, p, tarStorages([]string{storageRec("0", "torch", "FloatStorage", 6, 4)}, evilPkl()), te), Malicious, "dangerous-import", ""},
		{"malicious tensor record", legacyTar(s, p, st, tensorsMember(tensorRec("t0", "0", "FloatTensor", 2), evil)), Malicious, "dangerous-import", ""},
		{"evil storage type", legacyTar(s, p, tarStorages([]string{storageRec("0", "os", "system", 6, 4)}, emptyList), te), Malicious, "dangerous-import", ""},
		{"unlisted storage type", legacyTar(s, p, tarStorages([]string{storageRec("0", "mylib", "FancyStorage", 6, 4)}, emptyList), te), Unknown, "legacy-storage-type", ""},
		{"size beyond member", legacyTar(s, p, string(newPB(2).int1(1).stop())+string(newPB(2).str("0").str("cpu").global("torch", "FloatStorage").op(0x87).stop())+le64(1<<40), te), Invalid, "legacy-storage-size", ""},
		{"huge size overflow", legacyTar(s, p, string(newPB(2).int1(1).stop())+string(newPB(2).str("0").str("cpu").global("torch", "DoubleStorage").op(0x87).stop())+le64(1<<63), te), Invalid, "legacy-storage-size", ""},
		{"storage data short", legacyTar(s, p, st[:len(st)-len(emptyList)-3], te), Invalid, "legacy-storage-size", ""},
		{"truncated storage size", legacyTar(s, p, string(newPB(2).int1(1).stop())+storageRec("0", "torch", "FloatStorage", 6, 4)[:30], te), Error, "truncated", ""},
		{"bad ndim", legacyTar(s, p, st, tensorsMember(tensorRec("t0", "0", "FloatTensor", 2)[:0]+string(newPB(2).str("t").str("0").global("torch", "FloatTensor").op(0x87).stop())+"\xff\x00\x00\x00\x00\x00\x00\x00")), Invalid, "legacy-tensor-ndim", ""},
		{"truncated tensor", legacyTar(s, p, st, goodTensors[:len(goodTensors)-5]), Error, "truncated", ""},
		{"count not int", legacyTar(s, p, string(newPB(2).str("x").stop()), te), Unknown, "legacy-tar-layout", ""},
		{"trailing data", legacyTar(s, p, st+"zz", te), Unknown, "trailing-data", ""},
	})
}
