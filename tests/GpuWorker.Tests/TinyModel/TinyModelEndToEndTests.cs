using StarKv.GpuWorker.Checkpoints;
using StarKv.GpuWorker.Images;
using StarKv.GpuWorker.Model;
using StarKv.GpuWorker.Model.Positions;
using StarKv.GpuWorker.Text;
using TorchSharp;

namespace StarKv.GpuWorker.Tests.TinyModel;

public sealed class TinyModelEndToEndTests : IClassFixture<TinyModelFixture>
{
    private readonly TinyModelFixture _fixture;

    public TinyModelEndToEndTests(TinyModelFixture fixture) => _fixture = fixture;

    [Fact]
    public void The_tiny_checkpoint_builds_the_model_and_runs_a_screenshot_turn()
    {
        using var checkpoint = CheckpointLoader.Load(_fixture.Folder, torch.ScalarType.Float32, torch.CPU);
        using var model = Qwen25VlModel.Load(checkpoint.Config, checkpoint.Weights, torch.CPU, torch.ScalarType.Float32);
        using var cache = model.NewCache();

        // A 4×8 patch grid: 2×4 = 8 merged tokens, inside one 112-pixel window.
        var grid = new GridThw(1, 4, 8);
        using var generator = new torch.Generator(3);
        using var patches = torch.randn([grid.PatchCount, 3 * 2 * 14 * 14], generator: generator); // [32, 1176]
        using var features = model.EncodeImage(patches, grid); // [8, 64]
        Assert.Equal(new long[] { 8, 64 }, features.shape);

        var text = Qwen25VlChatTemplate.FirstStep(UiTarsPrompts.Grounding("search event"), grid.MergedTokenCount(2));
        var ids = checkpoint.Tokenizer.Encode(text);
        Assert.Equal(8, ids.Count(id => id == checkpoint.Config.Tokens.ImageTokenId));
        using var positions = MropePositions.ForTurn(ids, checkpoint.Config.Tokens.ImageTokenId, [grid], 2, 0);
        var bookkeeping = MropePositions.Bookkeeping(ids, checkpoint.Config.Tokens.ImageTokenId, [grid], 2, 0, 0);
        using var logits = model.Prefill(ids, features, positions, bookkeeping, cache); // [vocab]

        Assert.Equal(new long[] { checkpoint.Config.Text.VocabSize }, logits.shape);
        Assert.True(logits.isfinite().all().item<bool>());
        Assert.True(logits.std().item<float>() > 0);
    }
}
