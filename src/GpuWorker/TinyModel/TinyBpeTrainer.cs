using System.Text;
using System.Text.RegularExpressions;
using StarKv.GpuWorker.Text;

namespace StarKv.GpuWorker.TinyModel;

/// <summary>
/// Learns a small byte-level BPE the way Hugging Face's trainer does, deterministically: the text is NFC-normalized,
/// split by Qwen2's pre-tokenizer regex and spelled in <see cref="ByteLevelAlphabet"/>; the 256 byte characters get
/// ids 0–255 in byte order; then, until the vocabulary is full or no pair occurs twice, the most frequent adjacent
/// pair (ties: the ordinally smallest "left right") is merged into a new token with the next id.
/// </summary>
public static class TinyBpeTrainer
{
    private static readonly Regex PreTokenizer = new(Qwen2Tokenizer.Qwen2Pattern, RegexOptions.CultureInvariant);

    /// <returns>The vocabulary (token → id) and the merges in rank order.</returns>
    public static (Dictionary<string, int> Vocabulary, List<(string Left, string Right)> Merges) Train(IEnumerable<string> corpus, int maxTokens)
    {
        ArgumentNullException.ThrowIfNull(corpus);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxTokens, 256);
        var vocabulary = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var b = 0; b < 256; b++)
        {
            vocabulary[ByteLevelAlphabet.CharOf((byte)b).ToString()] = b;
        }

        var wordCounts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var text in corpus)
        {
            foreach (Match match in PreTokenizer.Matches(text.Normalize(NormalizationForm.FormC)))
            {
                var word = ByteLevelAlphabet.Encode(match.Value);
                wordCounts[word] = wordCounts.GetValueOrDefault(word) + 1;
            }
        }

        // Each distinct word as its current list of symbols, in a fixed order.
        var words = wordCounts.OrderBy(w => w.Key, StringComparer.Ordinal)
            .Select(w => (Symbols: w.Key.Select(c => c.ToString()).ToList(), Count: w.Value))
            .ToList();
        var merges = new List<(string, string)>();
        while (vocabulary.Count < maxTokens)
        {
            var pairs = new Dictionary<(string, string), int>();
            foreach (var (symbols, count) in words)
            {
                for (var i = 0; i + 1 < symbols.Count; i++)
                {
                    var pair = (symbols[i], symbols[i + 1]);
                    pairs[pair] = pairs.GetValueOrDefault(pair) + count;
                }
            }

            var best = pairs
                .Where(p => p.Value >= 2)
                .OrderByDescending(p => p.Value)
                .ThenBy(p => p.Key.Item1 + " " + p.Key.Item2, StringComparer.Ordinal)
                .Select(p => ((string Left, string Right)?)p.Key)
                .FirstOrDefault();
            if (best is not { } merge)
            {
                break;
            }

            merges.Add(merge);
            var merged = merge.Left + merge.Right;
            vocabulary.TryAdd(merged, vocabulary.Count);
            foreach (var (symbols, _) in words)
            {
                for (var i = 0; i + 1 < symbols.Count; i++)
                {
                    if (symbols[i] == merge.Left && symbols[i + 1] == merge.Right)
                    {
                        symbols[i] = merged;
                        symbols.RemoveAt(i + 1);
                    }
                }
            }
        }

        return (vocabulary, merges);
    }
}
