using System.Text.Json;
using System.Text.RegularExpressions;
using StarKv.GpuWorker.Tests.TinyModel;
using StarKv.GpuWorker.Text;
using StarKv.GpuWorker.TinyModel;

namespace StarKv.GpuWorker.Tests.Text;

public sealed class Qwen2TokenizerTests : IClassFixture<TinyModelFixture>
{
    private readonly Qwen2Tokenizer _tokenizer;
    private readonly ReferenceBpe _reference;

    public Qwen2TokenizerTests(TinyModelFixture fixture)
    {
        _tokenizer = Qwen2Tokenizer.Load(fixture.Folder);
        _reference = new ReferenceBpe(File.ReadAllText(Path.Combine(fixture.Folder, Qwen2Tokenizer.FileName)));
    }

    internal static IReadOnlyList<string> AnnotatedInstructions()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Images.GuiSamples.Directory, "annotations.json")));
        return doc.RootElement.EnumerateArray().Select(e => e.GetProperty("instruction").GetString()!).ToList();
    }

    [Fact]
    public void The_72_annotated_instructions_round_trip_and_match_the_reference_bpe()
    {
        var instructions = AnnotatedInstructions();
        Assert.Equal(72, instructions.Count);
        foreach (var instruction in instructions)
        {
            var ids = _tokenizer.Encode(instruction);
            Assert.Equal(instruction, _tokenizer.Decode(ids));
            Assert.Equal(_reference.Encode(instruction), ids);
        }
    }

    [Theory]
    [InlineData("Thought: The search box is at the top.\nAction: click(point='<point>512 64</point>')")]
    [InlineData("type(content='naïve café – 東京 😀\\n')")]
    [InlineData("  leading spaces,\ttabs\r\n\r\nand   runs of    spaces  ")]
    [InlineData("It's we'll they'VE I'd 12345 #hash ## ### $% ^&*")]
    [InlineData("e\u0301 composed by NFC")]
    public void Mixed_text_matches_the_reference_bpe_and_round_trips(string text)
    {
        var ids = _tokenizer.Encode(text);
        Assert.Equal(_reference.Encode(text), ids);
        Assert.Equal(text.Normalize(System.Text.NormalizationForm.FormC), _tokenizer.Decode(ids));
    }

    [Fact]
    public void Learned_merges_shorten_common_words()
    {
        // " the" and "click" occur often in the corpus: each becomes a single token.
        Assert.Single(_tokenizer.Encode(" the"));
        Assert.Single(_tokenizer.Encode("click"));
        Assert.True(_tokenizer.Encode("Thought: I will click the button.").Count < "Thought: I will click the button.".Length / 2);
    }

    [Fact]
    public void Every_added_token_is_one_id_and_never_split()
    {
        foreach (var token in TinyTokenizerVocabulary.AddedTokens)
        {
            var id = TinyTokenizerVocabulary.SpecialId(token);
            Assert.Equal(id, _tokenizer.TokenId(token));
            Assert.Equal(new[] { id }, _tokenizer.Encode(token));
        }

        var image = Qwen25VlChatTemplate.Image(5);
        Assert.Equal(
            new[] { 609, 612, 612, 612, 612, 612, 610 },
            _tokenizer.Encode(image));
        var mixed = _tokenizer.Encode("a<|im_start|>user\nb<|im_end|>");
        Assert.Equal(1, mixed.Count(id => id == 601));
        Assert.Equal(1, mixed.Count(id => id == 602));
        Assert.Equal(mixed.Count - 2, mixed.Count(id => id < TinyTokenizerVocabulary.FirstSpecialId));
        Assert.Equal("a<|im_start|>user\nb<|im_end|>", _tokenizer.Decode(mixed));
        Assert.Equal("auser\nb", _tokenizer.Decode(mixed, skipSpecialTokens: true));
        Assert.Throws<KeyNotFoundException>(() => _tokenizer.TokenId("<|not_a_token|>"));
    }

    [Fact]
    public void A_whole_rendered_history_round_trips()
    {
        var prompt = UiTarsPrompts.Computer("Open the settings");
        var text = Qwen25VlChatTemplate.History(prompt, [new ChatHistoryStep(4, "Thought: open it\nAction: click(point='<point>10 20</point>')")], 6);
        var ids = _tokenizer.Encode(text);
        Assert.Equal(text, _tokenizer.Decode(ids));
        Assert.Equal(10, ids.Count(id => id == _tokenizer.TokenId("<|image_pad|>")));
        Assert.Equal(_reference.Encode(text), ids);
    }

    [Fact]
    public void Concurrent_sessions_can_share_one_tokenizer()
    {
        var instructions = AnnotatedInstructions();
        var expected = instructions.Select(i => _tokenizer.Encode(i).ToArray()).ToArray();
        var mismatches = 0;
        Parallel.For(0, 8 * instructions.Count, new ParallelOptions { MaxDegreeOfParallelism = 8 }, n =>
        {
            var i = n % instructions.Count;
            var ids = _tokenizer.Encode(instructions[i]);
            if (!ids.SequenceEqual(expected[i]) || _tokenizer.Decode(ids) != instructions[i])
            {
                Interlocked.Increment(ref mismatches);
            }
        });
        Assert.Equal(0, mismatches);
    }

    [Fact]
    public void Ids_without_a_token_decode_to_nothing()
    {
        // The tiny vocabulary leaves 622..639 unused, as Qwen2 pads 151,665 tokens to 152,064 rows: a model may still emit them.
        Assert.Equal(622, _tokenizer.VocabularyCount);
        Assert.Equal("Hi", _tokenizer.Decode([72, 639, 105, 630, -1, 100_000]));
    }

    [Fact]
    public void The_qwen2_pre_tokenizer_splits_as_hand_worked()
    {
        var pieces = Regex.Matches("Hello world's  123\n\nok!?", Qwen2Tokenizer.Qwen2Pattern).Select(m => m.Value);
        Assert.Equal(new[] { "Hello", " world", "'s", " ", " ", "1", "2", "3", "\n\n", "ok", "!?" }, pieces);
    }

    [Fact]
    public void Byte_alphabet_spells_space_and_newline_as_gpt2_does()
    {
        Assert.Equal("Ġ", ByteLevelAlphabet.Encode(" "));
        Assert.Equal("Ċ", ByteLevelAlphabet.Encode("\n"));
        Assert.Equal("Ã©", ByteLevelAlphabet.Encode("é"));
        Assert.Equal("Hi!", ByteLevelAlphabet.Encode("Hi!"));
    }

    [Fact]
    public void A_tokenizer_json_of_another_model_type_is_refused()
    {
        var error = Assert.Throws<TokenizerFormatException>(() => Qwen2Tokenizer.Parse("""{"model":{"type":"WordPiece","vocab":{}}}""", "x/tokenizer.json"));
        Assert.Contains("x/tokenizer.json", error.Message, StringComparison.Ordinal);
        Assert.Contains("WordPiece", error.Message, StringComparison.Ordinal);
    }
}

public sealed class Qwen2TokenizerMergeTests
{
    /// <summary>A minimal tokenizer.json: the 256 byte tokens, then the given merges in rank order.</summary>
    private static string Minimal(params string[] merges)
    {
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var b = 0; b < 256; b++)
        {
            vocab[ByteLevelAlphabet.CharOf((byte)b).ToString()] = b;
        }

        foreach (var merge in merges)
        {
            vocab.TryAdd(merge.Replace(" ", "", StringComparison.Ordinal), vocab.Count);
        }

        return JsonSerializer.Serialize(new
        {
            added_tokens = new[] { new { id = 300, content = "<|endoftext|>", special = true } },
            model = new { type = "BPE", vocab, merges },
        });
    }

    [Fact]
    public void Merges_of_hash_characters_are_not_mistaken_for_a_version_line()
    {
        var tokenizer = Qwen2Tokenizer.Parse(Minimal("# #", "## #"));
        Assert.Equal(new[] { 257 }, tokenizer.Encode("###"));
        Assert.Equal(new[] { 256 }, tokenizer.Encode("##"));
    }

    [Fact]
    public void Merges_apply_by_rank_not_by_position()
    {
        // "a b" ranks before "b c": "abc" → "ab" + "c"; with the order swapped → "a" + "bc".
        var abFirst = Qwen2Tokenizer.Parse(Minimal("a b", "b c"));
        Assert.Equal(new[] { 256, 'c' }, abFirst.Encode("abc"));
        var bcFirst = Qwen2Tokenizer.Parse(Minimal("b c", "a b"));
        Assert.Equal(new[] { (int)'a', 256 }, bcFirst.Encode("abc"));
        Assert.Equal(new[] { 300 }, bcFirst.Encode("<|endoftext|>"));
    }
}
