namespace StarKv.Silo.Runtime;

/// <summary>
/// The built-in trained GUI agent: a Qwen2.5-VL-architecture model of 4.7M parameters trained on the synthetic GUI
/// suite (<c>tools/AgentTraining</c>), shipped in the repository as a Hugging Face folder (<c>models/tiny-gui-agent</c>)
/// and copied beside the program by the build. It is the embedded mode's default model.
/// </summary>
public static class BuiltInAgentModel
{
    public const string Id = "gui-agent";

    /// <summary>The folder beside the program that holds the checkpoint.</summary>
    public static string Folder => Path.Combine(AppContext.BaseDirectory, "models", "tiny-gui-agent");
}
