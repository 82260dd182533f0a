using System.Text.Json;
using StarKv.GpuWorker.Diagnostics;
using StarKv.GpuWorker.Images;
using StarKv.GpuWorker.Model.Positions;
using StarKv.GpuWorker.Numpy;
using StarKv.GpuWorker.Tests.Sessions;
using TorchSharp;

namespace StarKv.GpuWorker.Tests.Diagnostics;

[Collection(TinyRuntimeGroup.Name)]
public sealed class LogitsDumpTests(TinyRuntimeFixture fixture)
{
    [Fact]
    public void The_dump_holds_the_logits_and_hidden_states_of_a_direct_prefill_of_its_inputs()
    {
        var outDir = Path.Combine(Path.GetTempPath(), "starkv-dump-" + Guid.NewGuid().ToString("N"));
        try
        {
            var image = TinyRuntimeFixture.Screen(4, 330, 210);
            var result = LogitsDump.Run(fixture.Folder, image, "Click the blue button.", outDir, hiddenStates: true, torch.CPU);
            var runtime = fixture.Runtime;
            var layers = runtime.Config.Text.NumHiddenLayers;
            Assert.Equal(layers + 3, result.Files.Count);

            // inputs.json gives back the ids and grid; a direct prefill of them must give the dumped numbers.
            using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "inputs.json")));
            var ids = json.RootElement.GetProperty("input_ids").EnumerateArray().Select(e => e.GetInt32()).ToList();
            var grid = json.RootElement.GetProperty("image_grid_thw")[0].EnumerateArray().Select(e => e.GetInt32()).ToArray();
            Assert.Equal(result.InputIds, ids);
            var dumpedGrid = Assert.NotNull(result.Grid);
            Assert.Equal(new[] { dumpedGrid.T, dumpedGrid.H, dumpedGrid.W }, grid);

            var model = runtime.Model;
            using var processed = Qwen2VlImageProcessor.Process(image, runtime.Config.Image, torch.CPU);
            Assert.Equal(result.Grid, processed.Grid);
            using var features = model.EncodeImage(processed.Patches, processed.Grid); // [V, hidden]
            using var positions = MropePositions.ForTurn(ids, runtime.Config.Tokens.ImageTokenId, [processed.Grid], 2, 0);
            var bookkeeping = MropePositions.Bookkeeping(ids, runtime.Config.Tokens.ImageTokenId, [processed.Grid], 2, 0, 0);
            using var cache = model.NewCache();
            var states = new List<torch.Tensor>();
            using var logits = model.Prefill(ids, features, positions, bookkeeping, cache, hiddenStates: states); // [vocab]

            using var dumped = NpyFile.Read(Path.Combine(outDir, "logits.npy")); // [vocab]
            Assert.Equal(torch.ScalarType.Float32, dumped.dtype);
            Assert.Equal(new long[] { runtime.Config.Text.VocabSize }, dumped.shape);
            Assert.Equal(logits.data<float>().ToArray(), dumped.data<float>().ToArray());
            Assert.Equal(layers + 1, states.Count);
            for (var i = 0; i < states.Count; i++)
            {
                using var state = NpyFile.Read(Path.Combine(outDir, $"hidden_state_{i}.npy")); // [T, hidden]
                Assert.Equal(new long[] { ids.Count, runtime.Config.Text.HiddenSize }, state.shape);
                Assert.Equal(states[i].data<float>().ToArray(), state.data<float>().ToArray());
                states[i].Dispose();
            }
        }
        finally
        {
            if (Directory.Exists(outDir))
            {
                Directory.Delete(outDir, recursive: true);
            }
        }
    }
}
