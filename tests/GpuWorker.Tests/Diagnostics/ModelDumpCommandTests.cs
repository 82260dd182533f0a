using System.Text.Json;
using StarKv.GpuWorker.Numpy;
using StarKv.GpuWorker.Tests.Sessions;
using StarKv.GpuWorker.Text;
using StarKv.ModelDump;

namespace StarKv.GpuWorker.Tests.Diagnostics;

/// <summary>The ModelDump tool's command line.</summary>
[Collection(TinyRuntimeGroup.Name)]
public sealed class ModelDumpCommandTests(TinyRuntimeFixture fixture)
{
    [Fact]
    public void A_text_only_prompt_needs_no_image()
    {
        var outDir = Path.Combine(Path.GetTempPath(), "starkv-dump-text-" + Guid.NewGuid().ToString("N"));
        try
        {
            using var output = new StringWriter();
            using var error = new StringWriter();

            var code = ModelDumpCommand.Create(output, error).Parse(["--model", fixture.Folder, "--text", "What is on the screen?", "--out", outDir]).Invoke();

            Assert.True(code == 0, $"exit code {code}: {error}");
            Assert.Contains("text only", output.ToString(), StringComparison.Ordinal);
            using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "inputs.json")));
            var ids = json.RootElement.GetProperty("input_ids").EnumerateArray().Select(e => e.GetInt32()).ToList();
            Assert.Equal(fixture.Runtime.Tokenizer.Encode(Qwen25VlChatTemplate.SingleTextTurn("What is on the screen?")), ids);
            Assert.Equal(0, json.RootElement.GetProperty("image_grid_thw").GetArrayLength());
            Assert.Equal(JsonValueKind.Null, json.RootElement.GetProperty("resized_size").ValueKind);
            using var logits = NpyFile.Read(Path.Combine(outDir, "logits.npy")); // [vocab]
            Assert.Equal(new long[] { fixture.Runtime.Config.Text.VocabSize }, logits.shape);
        }
        finally
        {
            if (Directory.Exists(outDir))
            {
                Directory.Delete(outDir, recursive: true);
            }
        }
    }

    [Fact]
    public void A_missing_image_file_is_named()
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var missing = Path.Combine(Path.GetTempPath(), "no-such-screenshot-" + Guid.NewGuid().ToString("N") + ".png");

        var code = ModelDumpCommand.Create(output, error).Parse(["--model", fixture.Folder, "--image", missing, "--text", "x", "--out", Path.GetTempPath()]).Invoke();

        Assert.Equal(2, code);
        Assert.Contains(missing, error.ToString(), StringComparison.Ordinal);
    }
}
