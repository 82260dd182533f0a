using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace StarKv.GpuWorker.Tests.Text;

/// <summary>
/// A plain, slow byte-level BPE written from the algorithm's definition, to check the library-backed tokenizer:
/// added tokens cut out first (longest match), NFC, the Split regex, GPT-2's byte alphabet (rebuilt here),
/// then repeatedly the lowest-ranked adjacent pair merged.
/// </summary>
internal sealed class ReferenceBpe
{
    private readonly Dictionary<string, int> _vocab = new(StringComparer.Ordinal);
    private readonly Dictionary<(string, string), int> _ranks = new();
    private readonly Dictionary<string, int> _added = new(StringComparer.Ordinal);
    private readonly Regex _split;
    private readonly char[] _byteChars = new char[256];

    public ReferenceBpe(string tokenizerJson)
    {
        using var doc = JsonDocument.Parse(tokenizerJson);
        var model = doc.RootElement.GetProperty("model");
        foreach (var entry in model.GetProperty("vocab").EnumerateObject())
        {
            _vocab[entry.Name] = entry.Value.GetInt32();
        }

        var rank = 0;
        foreach (var merge in model.GetProperty("merges").EnumerateArray())
        {
            var parts = merge.GetString()!.Split(' ');
            _ranks[(parts[0], parts[1])] = rank++;
        }

        foreach (var token in doc.RootElement.GetProperty("added_tokens").EnumerateArray())
        {
            _added[token.GetProperty("content").GetString()!] = token.GetProperty("id").GetInt32();
        }

        var pattern = doc.RootElement.GetProperty("pre_tokenizer").GetProperty("pretokenizers")[0].GetProperty("pattern").GetProperty("Regex").GetString()!;
        _split = new Regex(pattern);

        // bytes_to_unicode: printable ranges keep their code point, the rest take 256, 257, … in byte order.
        var printable = Enumerable.Range('!', '~' - '!' + 1).Concat(Enumerable.Range(0xA1, 0xAC - 0xA1 + 1)).Concat(Enumerable.Range(0xAE, 0xFF - 0xAE + 1)).ToHashSet();
        var extra = 0;
        for (var b = 0; b < 256; b++)
        {
            _byteChars[b] = printable.Contains(b) ? (char)b : (char)(256 + extra++);
        }
    }

    public List<int> Encode(string text)
    {
        var ids = new List<int>();
        var start = 0;
        var i = 0;
        while (i < text.Length)
        {
            var special = _added.Keys.Where(k => string.CompareOrdinal(text, i, k, 0, k.Length) == 0).OrderByDescending(k => k.Length).FirstOrDefault();
            if (special is null)
            {
                i++;
                continue;
            }

            EncodeOrdinary(text[start..i], ids);
            ids.Add(_added[special]);
            i += special.Length;
            start = i;
        }

        EncodeOrdinary(text[start..], ids);
        return ids;
    }

    private void EncodeOrdinary(string text, List<int> ids)
    {
        foreach (Match piece in _split.Matches(text.Normalize(NormalizationForm.FormC)))
        {
            var symbols = Encoding.UTF8.GetBytes(piece.Value).Select(b => _byteChars[b].ToString()).ToList();
            while (symbols.Count > 1)
            {
                var best = -1;
                var bestRank = int.MaxValue;
                for (var k = 0; k + 1 < symbols.Count; k++)
                {
                    if (_ranks.TryGetValue((symbols[k], symbols[k + 1]), out var r) && r < bestRank)
                    {
                        bestRank = r;
                        best = k;
                    }
                }

                if (best < 0)
                {
                    break;
                }

                symbols[best] += symbols[best + 1];
                symbols.RemoveAt(best + 1);
            }

            ids.AddRange(symbols.Select(s => _vocab[s]));
        }
    }
}
