using System.CommandLine;
using ModelVis.Cli.Verbs;

namespace ModelVis.Cli;

/// <summary>Every verb of the CLI, one file each under Verbs/.</summary>
static class VerbList
{
    public static IEnumerable<Command> All =>
    [
        ServeVerb.Create(),
        CaptureVerb.Create(),
        GenerateVerb.Create(),
        TokenizeVerb.Create(),
        InspectVerb.Create(),
        LensVerb.Create(),
        NeighborsVerb.Create(),
        NeuronsVerb.Create(),
        RenderVerb.Create(),
        TrainVerb.Create(),
        FeaturesVerb.Create(),
        CircuitsVerbs.Heads(),
        CircuitsVerbs.Dla(),
        CircuitsVerbs.Patch(),
        AttributeVerb.Create(),
        ScalarsVerb.Create(),
        CompareVerb.Create(),
    ];
}
