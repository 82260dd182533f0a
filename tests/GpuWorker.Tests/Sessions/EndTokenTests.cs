using System.Text.Json.Nodes;
using StarKv.GpuWorker.Runtime;
using StarKv.GpuWorker.Sessions;
using StarKv.GpuWorker.Text;
using StarKv.GpuWorker.TinyModel;
using TorchSharp;

namespace StarKv.GpuWorker.Tests.Sessions;

/// <summary>Decoding stops at every end token a checkpoint names, in config.json or generation_config.json.</summary>
[Collection(TinyRuntimeGroup.Name)]
public sealed class EndTokenTests(TinyRuntimeFixture fixture)
{
    private static readonly SessionOptions Options = new() { Method = "full", Task = "Open the settings page.", MaxNewTokens = 6 };

    [Fact]
    public void Decoding_stops_at_a_token_only_generation_config_names_and_the_turn_is_closed_with_im_end()
    {
        // The built-in tiny model's first reply token, when nothing stops it.
        using var plain = (AgentSession)fixture.Runtime.CreateSession(Options);
        var first = plain.Step(TinyRuntimeFixture.Screen(0), "", CancellationToken.None);
        Assert.True(first.Figures.TokensDecoded >= 2, "the tiny model's reply should run past its first token");
        var firstReplyToken = plain.AppendedIds[first.Figures.TokensPrefilled];

        // The same checkpoint whose generation_config.json adds that token to its end tokens.
        var folder = Path.Combine(Path.GetTempPath(), "starkv-end-tokens-" + Guid.NewGuid().ToString("N"));
        try
        {
            TinyModelFolder.Write(folder, TinyModelFolder.DefaultSeed);
            var generation = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "generation_config.json")))!.AsObject();
            generation["eos_token_id"]!.AsArray().Add(firstReplyToken);
            File.WriteAllText(Path.Combine(folder, "generation_config.json"), generation.ToJsonString());
            using var runtime = Qwen25VlRuntime.LoadFolder(folder, "tiny-more-ends", torch.CPU, torch.ScalarType.Float32);
            Assert.Contains(firstReplyToken, runtime.Config.EndTokenIds);
            Assert.DoesNotContain(firstReplyToken, runtime.Config.Tokens.EosTokenIds);

            using var session = (AgentSession)runtime.CreateSession(Options);
            var stopped = session.Step(TinyRuntimeFixture.Screen(0), "", CancellationToken.None);

            Assert.Equal(1, stopped.Figures.TokensDecoded);
            Assert.Equal(string.Empty, stopped.Text);
            Assert.Equal(first.Figures.TokensPrefilled, session.AppendedIds.Count); // the end token never enters the cache

            // The next turn opens with <|im_end|>, as the chat template closes a reply whatever token ended it.
            session.Step(TinyRuntimeFixture.Screen(1), "", CancellationToken.None);
            Assert.Equal(runtime.Tokenizer.TokenId(Qwen25VlChatTemplate.ImEnd), session.AppendedIds[first.Figures.TokensPrefilled]);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
