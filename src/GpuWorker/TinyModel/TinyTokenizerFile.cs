using System.Text.Json;
using System.Text.Json.Nodes;
using StarKv.GpuWorker.Text;

namespace StarKv.GpuWorker.TinyModel;

/// <summary>
/// The tiny model's <c>tokenizer.json</c> and <c>tokenizer_config.json</c>, in the layout of Qwen2's: NFC normalizer,
/// the Qwen2 Split regex then ByteLevel pre-tokenizer, a BPE model (vocab and "a b" merges), ByteLevel decoder, and
/// Qwen2's added tokens at ids <see cref="TinyTokenizerVocabulary.FirstSpecialId"/> onwards.
/// </summary>
public static class TinyTokenizerFile
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    private static readonly Lazy<(Dictionary<string, int> Vocabulary, List<(string Left, string Right)> Merges)> Trained =
        new(() => TinyBpeTrainer.Train(TinyCorpus.Texts, TinyTokenizerVocabulary.MaxRegularTokens));

    /// <summary>Added tokens Qwen2 marks special; the rest (tool and fill-in-the-middle markers) are added but not special.</summary>
    public static bool IsSpecial(string token) => TinyTokenizerVocabulary.AddedTokens.Take(14).Contains(token);

    public static string TokenizerJson() => TokenizerJson(Trained.Value.Vocabulary, Trained.Value.Merges);

    /// <summary>
    /// A <c>tokenizer.json</c> whose merges are learned from <paramref name="corpus"/> (at most
    /// <see cref="TinyTokenizerVocabulary.MaxRegularTokens"/> regular tokens, then the same added tokens), for a small
    /// model trained on its own texts.
    /// </summary>
    public static string TokenizerJson(IEnumerable<string> corpus)
    {
        var (vocabulary, merges) = TinyBpeTrainer.Train(corpus, TinyTokenizerVocabulary.MaxRegularTokens);
        return TokenizerJson(vocabulary, merges);
    }

    private static string TokenizerJson(Dictionary<string, int> vocabulary, List<(string Left, string Right)> merges)
    {
        var byteLevel = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = false, ["use_regex"] = false };
        var root = new JsonObject
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = new JsonArray(TinyTokenizerVocabulary.AddedTokens.Select(token => (JsonNode)new JsonObject
            {
                ["id"] = TinyTokenizerVocabulary.SpecialId(token),
                ["content"] = token,
                ["single_word"] = false,
                ["lstrip"] = false,
                ["rstrip"] = false,
                ["normalized"] = false,
                ["special"] = IsSpecial(token),
            }).ToArray()),
            ["normalizer"] = new JsonObject { ["type"] = "NFC" },
            ["pre_tokenizer"] = new JsonObject
            {
                ["type"] = "Sequence",
                ["pretokenizers"] = new JsonArray(
                    new JsonObject
                    {
                        ["type"] = "Split",
                        ["pattern"] = new JsonObject { ["Regex"] = Qwen2Tokenizer.Qwen2Pattern },
                        ["behavior"] = "Isolated",
                        ["invert"] = false,
                    },
                    byteLevel.DeepClone()),
            },
            ["post_processor"] = byteLevel.DeepClone(),
            ["decoder"] = byteLevel.DeepClone(),
            ["model"] = new JsonObject
            {
                ["type"] = "BPE",
                ["dropout"] = null,
                ["unk_token"] = null,
                ["continuing_subword_prefix"] = "",
                ["end_of_word_suffix"] = "",
                ["fuse_unk"] = false,
                ["byte_fallback"] = false,
                ["vocab"] = new JsonObject(vocabulary.OrderBy(v => v.Value).Select(v => KeyValuePair.Create(v.Key, (JsonNode?)v.Value))),
                ["merges"] = new JsonArray(merges.Select(m => (JsonNode)(m.Left + " " + m.Right)).ToArray()),
            },
        };
        return root.ToJsonString(Indented);
    }

    public static string TokenizerConfigJson()
    {
        var decoder = new JsonObject();
        foreach (var token in TinyTokenizerVocabulary.AddedTokens)
        {
            decoder[TinyTokenizerVocabulary.SpecialId(token).ToString(System.Globalization.CultureInfo.InvariantCulture)] = new JsonObject
            {
                ["content"] = token,
                ["lstrip"] = false,
                ["normalized"] = false,
                ["rstrip"] = false,
                ["single_word"] = false,
                ["special"] = IsSpecial(token),
            };
        }

        return new JsonObject
        {
            ["add_prefix_space"] = false,
            ["added_tokens_decoder"] = decoder,
            ["bos_token"] = null,
            ["clean_up_tokenization_spaces"] = false,
            ["eos_token"] = "<|im_end|>",
            ["errors"] = "replace",
            ["model_max_length"] = 32768,
            ["pad_token"] = "<|endoftext|>",
            ["split_special_tokens"] = false,
            ["tokenizer_class"] = "Qwen2Tokenizer",
            ["unk_token"] = null,
        }.ToJsonString(Indented);
    }
}
