using StarKv.GpuWorker.Checkpoints;
using StarKv.GpuWorker.Model;

namespace StarKv.GpuWorker.Tests.Checkpoints;

public sealed class Qwen25VlCheckpointLayoutTests
{
    [Fact]
    public void Ui_tars_7b_has_the_published_tensor_shapes()
    {
        var shapes = Qwen25VlCheckpointLayout.ExpectedShapes(Qwen25VlConfig.Parse(UiTarsConfigFixture.ConfigJson));

        // Vision: patch embed + 12 per block × 32 + merger 5; text: embed + 12 per layer × 28 + norm + lm_head.
        Assert.Equal(1 + (12 * 32) + 5 + 1 + (12 * 28) + 1 + 1, shapes.Count);
        Assert.Equal(new long[] { 1280, 3, 2, 14, 14 }, shapes["visual.patch_embed.proj.weight"]);
        Assert.Equal(new long[] { 3840, 1280 }, shapes["visual.blocks.31.attn.qkv.weight"]);
        Assert.Equal(new long[] { 3840 }, shapes["visual.blocks.0.attn.qkv.bias"]);
        Assert.Equal(new long[] { 1280, 1280 }, shapes["visual.blocks.7.attn.proj.weight"]);
        Assert.Equal(new long[] { 3420, 1280 }, shapes["visual.blocks.3.mlp.gate_proj.weight"]);
        Assert.Equal(new long[] { 1280, 3420 }, shapes["visual.blocks.3.mlp.down_proj.weight"]);
        Assert.Equal(new long[] { 1280 }, shapes["visual.blocks.3.mlp.down_proj.bias"]);
        Assert.Equal(new long[] { 1280 }, shapes["visual.merger.ln_q.weight"]);
        Assert.Equal(new long[] { 5120, 5120 }, shapes["visual.merger.mlp.0.weight"]);
        Assert.Equal(new long[] { 3584, 5120 }, shapes["visual.merger.mlp.2.weight"]);
        Assert.Equal(new long[] { 3584 }, shapes["visual.merger.mlp.2.bias"]);
        Assert.Equal(new long[] { 152064, 3584 }, shapes["model.embed_tokens.weight"]);
        Assert.Equal(new long[] { 3584, 3584 }, shapes["model.layers.27.self_attn.q_proj.weight"]);
        Assert.Equal(new long[] { 512, 3584 }, shapes["model.layers.0.self_attn.k_proj.weight"]);
        Assert.Equal(new long[] { 512 }, shapes["model.layers.0.self_attn.v_proj.bias"]);
        Assert.Equal(new long[] { 3584, 3584 }, shapes["model.layers.0.self_attn.o_proj.weight"]);
        Assert.False(shapes.ContainsKey("model.layers.0.self_attn.o_proj.bias"));
        Assert.Equal(new long[] { 18944, 3584 }, shapes["model.layers.5.mlp.up_proj.weight"]);
        Assert.Equal(new long[] { 3584, 18944 }, shapes["model.layers.5.mlp.down_proj.weight"]);
        Assert.Equal(new long[] { 3584 }, shapes["model.norm.weight"]);
        Assert.Equal(new long[] { 152064, 3584 }, shapes["lm_head.weight"]);
        Assert.False(shapes.ContainsKey("visual.patch_embed.proj.bias"));
        Assert.False(shapes.ContainsKey("visual.blocks.32.norm1.weight"));
        Assert.False(shapes.ContainsKey("model.layers.28.input_layernorm.weight"));

        // 8,292,166,656 parameters: the published size of Qwen2.5-VL-7B / UI-TARS-1.5-7B.
        Assert.Equal(8_292_166_656L, shapes.Values.Sum(s => s.Aggregate(1L, (a, b) => a * b)));
    }

    [Fact]
    public void Tied_embeddings_have_no_lm_head()
    {
        var config = Qwen25VlConfig.Parse(UiTarsConfigFixture.ConfigJson);
        config = config with { Text = config.Text with { TieWordEmbeddings = true } };
        Assert.False(Qwen25VlCheckpointLayout.ExpectedShapes(config).ContainsKey("lm_head.weight"));
    }

    [Theory]
    [InlineData("model.language_model.layers.3.self_attn.q_proj.weight", "model.layers.3.self_attn.q_proj.weight")]
    [InlineData("model.language_model.embed_tokens.weight", "model.embed_tokens.weight")]
    [InlineData("model.language_model.norm.weight", "model.norm.weight")]
    [InlineData("model.visual.blocks.0.attn.qkv.weight", "visual.blocks.0.attn.qkv.weight")]
    [InlineData("model.visual.merger.mlp.0.bias", "visual.merger.mlp.0.bias")]
    [InlineData("lm_head.weight", "lm_head.weight")]
    [InlineData("model.layers.0.mlp.up_proj.weight", "model.layers.0.mlp.up_proj.weight")]
    [InlineData("visual.patch_embed.proj.weight", "visual.patch_embed.proj.weight")]
    public void Newer_names_map_to_the_canonical_ones(string stored, string canonical) =>
        Assert.Equal(canonical, Qwen25VlCheckpointLayout.CanonicalName(stored));
}
