using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace StarKv.GpuWorker.Text;

/// <summary>
/// Qwen2's byte-level BPE tokenizer, read from a Hugging Face <c>tokenizer.json</c>: NFC normalization, the Qwen2
/// pre-tokenizer regex, GPT-2's byte-to-character alphabet and the BPE merges of the file. Every entry of
/// <c>added_tokens</c> (<c>&lt;|im_start|&gt;</c>, <c>&lt;|image_pad|&gt;</c>, …) is matched as a whole before
/// pre-tokenization and encodes to its single id, as Hugging Face's tokenizers do.
/// </summary>
public sealed class Qwen2Tokenizer
{
    public const string FileName = "tokenizer.json";

    /// <summary>The pre-tokenizer of Qwen2's <c>tokenizer.json</c>, used when the file names no Split regex.</summary>
    public const string Qwen2Pattern =
        @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    private readonly BpeTokenizer _bpe;
    private readonly Dictionary<string, int> _added;
    private readonly HashSet<int> _specialIds;

    private Qwen2Tokenizer(BpeTokenizer bpe, Dictionary<string, int> added, HashSet<int> specialIds, int vocabularyCount)
    {
        _bpe = bpe;
        _added = added;
        _specialIds = specialIds;
        VocabularyCount = vocabularyCount;
    }

    /// <summary>Added tokens (never split) and their ids.</summary>
    public IReadOnlyDictionary<string, int> AddedTokens => _added;

    /// <summary>One more than the largest id the tokenizer can produce.</summary>
    public int VocabularyCount { get; }

    /// <summary>Reads <c>tokenizer.json</c> from a model folder.</summary>
    /// <exception cref="TokenizerFormatException">The file is missing or is not a byte-level BPE tokenizer.</exception>
    public static Qwen2Tokenizer Load(string folder)
    {
        var path = Path.Combine(folder, FileName);
        if (!File.Exists(path))
        {
            throw new TokenizerFormatException(path, "file not found.");
        }

        return Parse(File.ReadAllText(path), path);
    }

    /// <summary>Builds the tokenizer from the text of a <c>tokenizer.json</c>; <paramref name="source"/> names it in errors.</summary>
    public static Qwen2Tokenizer Parse(string tokenizerJson, string source = FileName)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(tokenizerJson);
        }
        catch (JsonException e)
        {
            throw new TokenizerFormatException(source, $"not valid JSON ({e.Message}).", e);
        }

        using (document)
        {
            var root = document.RootElement;
            if (!root.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.Object)
            {
                throw new TokenizerFormatException(source, "has no model object.");
            }

            var type = model.TryGetProperty("type", out var t) ? t.GetString() : null;
            if (type != "BPE")
            {
                throw new TokenizerFormatException(source, $"model type is '{type ?? "none"}'; Qwen2 uses a byte-level BPE.");
            }

            var vocabulary = ReadVocabulary(model, source);
            var merges = ReadMerges(model, source);
            var (added, specialIds) = ReadAddedTokens(root, source);
            var pattern = FindSplitPattern(root) ?? Qwen2Pattern;
            var regex = new Regex(pattern, RegexOptions.Compiled | RegexOptions.CultureInvariant);

            var options = new BpeOptions(vocabulary)
            {
                Merges = merges,
                ByteLevel = true,
                SpecialTokens = added,
                PreTokenizer = new RegexPreTokenizer(regex, added),
                Normalizer = root.TryGetProperty("normalizer", out var n) && n.ValueKind == JsonValueKind.Object ? NfcNormalizer.Instance : null,
            };
            var bpe = BpeTokenizer.Create(options);
            var count = Math.Max(vocabulary.Max(v => v.Value), added.Count > 0 ? added.Values.Max() : 0) + 1;
            return new Qwen2Tokenizer(bpe, added, specialIds, count);
        }
    }

    /// <summary>Token ids of <paramref name="text"/>; added tokens in it become their single ids.</summary>
    public IReadOnlyList<int> Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return _bpe.EncodeToIds(text);
    }

    /// <summary>The text of <paramref name="ids"/>, added tokens included verbatim.</summary>
    public string Decode(IEnumerable<int> ids) => Decode(ids, skipSpecialTokens: false);

    /// <summary>The text of <paramref name="ids"/>; with <paramref name="skipSpecialTokens"/>, tokens marked special are left out.</summary>
    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var list = skipSpecialTokens ? ids.Where(id => !_specialIds.Contains(id)) : ids;
        return _bpe.Decode(list, considerSpecialTokens: true);
    }

    /// <summary>The id of an added token such as <c>&lt;|im_end|&gt;</c>.</summary>
    public int TokenId(string special)
    {
        ArgumentNullException.ThrowIfNull(special);
        return _added.TryGetValue(special, out var id)
            ? id
            : throw new KeyNotFoundException($"'{special}' is not an added token of this tokenizer.");
    }

    /// <summary>Whether <paramref name="id"/> is an added token marked special (<c>&lt;|endoftext|&gt;</c>, <c>&lt;|im_end|&gt;</c>, …).</summary>
    public bool IsSpecial(int id) => _specialIds.Contains(id);

    private static Dictionary<string, int> ReadVocabulary(JsonElement model, string source)
    {
        if (!model.TryGetProperty("vocab", out var vocab) || vocab.ValueKind != JsonValueKind.Object)
        {
            throw new TokenizerFormatException(source, "model has no vocab object.");
        }

        var result = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var entry in vocab.EnumerateObject())
        {
            if (!entry.Value.TryGetInt32(out var id) || id < 0)
            {
                throw new TokenizerFormatException(source, $"vocab entry '{entry.Name}' has no valid id.");
            }

            result[entry.Name] = id;
        }

        if (result.Count == 0)
        {
            throw new TokenizerFormatException(source, "model vocab is empty.");
        }

        return result;
    }

    // Merges are "a b" strings in older files and [a, b] pairs in newer ones.
    private static List<string> ReadMerges(JsonElement model, string source)
    {
        var merges = new List<string>();
        if (!model.TryGetProperty("merges", out var array) || array.ValueKind != JsonValueKind.Array)
        {
            return merges;
        }

        foreach (var merge in array.EnumerateArray())
        {
            merges.Add(merge.ValueKind switch
            {
                JsonValueKind.String => merge.GetString()!,
                JsonValueKind.Array when merge.GetArrayLength() == 2 => $"{merge[0].GetString()} {merge[1].GetString()}",
                _ => throw new TokenizerFormatException(source, $"merge {merges.Count} is neither \"a b\" nor [a, b]."),
            });
        }

        return merges;
    }

    private static (Dictionary<string, int> Added, HashSet<int> Special) ReadAddedTokens(JsonElement root, string source)
    {
        var added = new Dictionary<string, int>(StringComparer.Ordinal);
        var special = new HashSet<int>();
        if (!root.TryGetProperty("added_tokens", out var tokens) || tokens.ValueKind != JsonValueKind.Array)
        {
            return (added, special);
        }

        foreach (var token in tokens.EnumerateArray())
        {
            var content = token.TryGetProperty("content", out var c) ? c.GetString() : null;
            if (string.IsNullOrEmpty(content) || !token.TryGetProperty("id", out var idElement) || !idElement.TryGetInt32(out var id))
            {
                throw new TokenizerFormatException(source, $"added token {token.GetRawText()} lacks content or id.");
            }

            added[content] = id;
            if (token.TryGetProperty("special", out var s) && s.ValueKind == JsonValueKind.True)
            {
                special.Add(id);
            }
        }

        return (added, special);
    }

    private static string? FindSplitPattern(JsonElement root)
    {
        if (!root.TryGetProperty("pre_tokenizer", out var pre) || pre.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        IEnumerable<JsonElement> parts = pre.TryGetProperty("pretokenizers", out var list) && list.ValueKind == JsonValueKind.Array
            ? list.EnumerateArray().ToList()
            : [pre];
        foreach (var part in parts)
        {
            if (part.TryGetProperty("type", out var type) && type.GetString() == "Split"
                && part.TryGetProperty("pattern", out var pattern) && pattern.TryGetProperty("Regex", out var regex))
            {
                return regex.GetString();
            }
        }

        return null;
    }
}

/// <summary>A <c>tokenizer.json</c> that cannot be read as a Qwen2 byte-level BPE tokenizer.</summary>
public sealed class TokenizerFormatException : Exception
{
    public TokenizerFormatException(string file, string problem) : base($"{file}: {problem}") { }

    public TokenizerFormatException(string file, string problem, Exception inner) : base($"{file}: {problem}", inner) { }

    public TokenizerFormatException() { }

    public TokenizerFormatException(string message) : base(message) { }

    public TokenizerFormatException(string message, Exception inner) : base(message, inner) { }
}
