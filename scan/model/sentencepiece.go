package model

import (
	"errors"
	"fmt"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
)

// A sentencepiece model is a serialized ModelProto (sentencepiece_model.proto):
//
//	1 pieces             repeated SentencePiece {1 piece string, 2 score float, 3 type enum}
//	2 trainer_spec       TrainerSpec
//	3 normalizer_spec    NormalizerSpec
//	4 self_test_data     SelfTestData
//	5 denormalizer_spec  NormalizerSpec
//
// It is data only (pieces, scores, normalisation tables), so a file that
// parses field by field with these wire types is safe; nothing is trusted
// by the file's name.

// looksSentencepiece: serialized fields come in field-number order, so a
// model starts with its first piece (field 1, length-delimited).
func looksSentencepiece(b []byte) bool { return len(b) > 2 && b[0] == 0x0a }

// checkSentencepiece parses b as a ModelProto.
func checkSentencepiece(b []byte) error {
	pieces := 0
	err := protoFields(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		switch num {
		case 1:
			if typ != protowire.BytesType {
				return errors.New("pieces is not a message")
			}
			pieces++
			return checkPiece(v)
		case 2, 3, 4, 5:
			if typ != protowire.BytesType {
				return fmt.Errorf("field %d is not a message", num)
			}
			return checkSpec(num, v)
		}
		return fmt.Errorf("field %d is not part of a sentencepiece model", num)
	})
	if err != nil {
		return err
	}
	if pieces == 0 {
		return errors.New("no pieces")
	}
	return nil
}

// checkPiece parses one SentencePiece message.
func checkPiece(b []byte) error {
	return protoFields(b, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
		switch {
		case num == 1 && typ == protowire.BytesType:
			if !utf8.Valid(v) {
				return errors.New("piece is not UTF-8")
			}
		case num == 2 && typ == protowire.Fixed32Type:
		case num == 3 && typ == protowire.VarintType:
			if x < 1 || x > 6 {
				return fmt.Errorf("piece type %d is not a sentencepiece type", x)
			}
		default:
			return fmt.Errorf("piece field %d (wire type %d) is not part of a sentencepiece piece", num, typ)
		}
		return nil
	})
}

// The wire types of the specs' known fields (sentencepiece_model.proto);
// fields added by later versions are accepted when well formed.
var (
	trainerSpecTypes = wireTypes(map[protowire.Type][]protowire.Number{
		protowire.BytesType:   {1, 2, 5, 7, 30, 31, 36, 44, 45, 46, 47, 48, 53, 54},
		protowire.VarintType:  {3, 4, 6, 11, 12, 13, 14, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 32, 33, 34, 35, 40, 41, 42, 43, 49, 50, 52},
		protowire.Fixed32Type: {10, 15, 51},
	})
	normalizerSpecTypes = wireTypes(map[protowire.Type][]protowire.Number{
		protowire.BytesType:  {1, 2, 6},
		protowire.VarintType: {3, 4, 5},
	})
	// textFields hold strings, which must be UTF-8.
	trainerSpecText    = map[protowire.Number]bool{2: true, 7: true, 30: true, 31: true, 36: true, 44: true, 45: true, 46: true, 47: true, 48: true}
	normalizerSpecText = map[protowire.Number]bool{1: true, 6: true}
)

func wireTypes(m map[protowire.Type][]protowire.Number) map[protowire.Number]protowire.Type {
	out := map[protowire.Number]protowire.Type{}
	for t, nums := range m {
		for _, n := range nums {
			out[n] = t
		}
	}
	return out
}

// checkSpec parses trainer_spec (2), normalizer_spec (3),
// self_test_data (4) or denormalizer_spec (5) field by field.
func checkSpec(field protowire.Number, b []byte) error {
	types, text := normalizerSpecTypes, normalizerSpecText
	switch field {
	case 2:
		types, text = trainerSpecTypes, trainerSpecText
	case 4: // SelfTestData: repeated Sample {1 input, 2 expected}
		return protoFields(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
			if num != 1 || typ != protowire.BytesType {
				return fmt.Errorf("self_test_data field %d is not a sample", num)
			}
			return protoFields(v, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
				if (num != 1 && num != 2) || typ != protowire.BytesType || !utf8.Valid(v) {
					return fmt.Errorf("self_test_data sample field %d is not a UTF-8 string", num)
				}
				return nil
			})
		})
	}
	return protoFields(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		if want, known := types[num]; known && typ != want {
			return fmt.Errorf("spec field %d has wire type %d, not %d", num, typ, want)
		}
		if text[num] && !utf8.Valid(v) {
			return fmt.Errorf("spec field %d is not UTF-8", num)
		}
		return nil
	})
}

// protoFields calls each for every field of the message b: v holds a
// length-delimited field's bytes, x a varint or fixed value.
func protoFields(b []byte, each func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error) error {
	for off := 0; off < len(b); {
		num, typ, n := protowire.ConsumeTag(b[off:])
		if n < 0 {
			return fmt.Errorf("offset %d: %w", off, protowire.ParseError(n))
		}
		off += n
		var (
			v []byte
			x uint64
		)
		switch typ {
		case protowire.VarintType:
			x, n = protowire.ConsumeVarint(b[off:])
		case protowire.Fixed32Type:
			var y uint32
			y, n = protowire.ConsumeFixed32(b[off:])
			x = uint64(y)
		case protowire.Fixed64Type:
			x, n = protowire.ConsumeFixed64(b[off:])
		case protowire.BytesType:
			v, n = protowire.ConsumeBytes(b[off:])
		default:
			return fmt.Errorf("offset %d: wire type %d is not used by sentencepiece", off, typ)
		}
		if n < 0 {
			return fmt.Errorf("offset %d: field %d: %w", off, num, protowire.ParseError(n))
		}
		off += n
		if err := each(num, typ, v, x); err != nil {
			return err
		}
	}
	return nil
}
