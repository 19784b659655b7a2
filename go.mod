module github.com/rotorkit/rotor

go 1.26.0
