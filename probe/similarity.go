package probe

import (
	"strings"
	"unicode"
)

// Similarity is the Dice coefficient of two answers' word unigram and bigram
// multisets (case-folded): 1 for the same words in the same order, 0 for
// answers sharing no word. Bigrams make a reordering or a flipped word count
// more than a bag of words would.
func Similarity(a, b string) float64 {
	ga, gb := grams(a), grams(b)
	na, nb := 0, 0
	for _, n := range ga {
		na += n
	}
	for _, n := range gb {
		nb += n
	}
	if na+nb == 0 {
		return 1
	}
	common := 0
	for g, n := range ga {
		common += min(n, gb[g])
	}
	return 2 * float64(common) / float64(na+nb)
}

func grams(s string) map[string]int {
	words := strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsNumber(r)
	})
	g := make(map[string]int, 2*len(words))
	for i, w := range words {
		g[w]++
		if i > 0 {
			g[words[i-1]+" "+w]++
		}
	}
	return g
}
